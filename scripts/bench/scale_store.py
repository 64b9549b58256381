#!/usr/bin/env python3
"""Makes a Kiln store of N published tokens with a history, in minutes, for the scale benchmarks and the query-plan
test: a store Kiln could have produced (it passes `kiln status`, and `kiln verify` of a real token).

    .venv/bin/python scripts/bench/scale_store.py WORK --tokens 1000000 [--real 200] [--store URL] [--kiln PATH]
        [--no-regen]

1. **Real tokens.** WORK/site gets a kiln.yml (chain 31337, `events: {file: events.jsonl}`, the Forge Knights template
   less its inference layer, examples/operators.yml, the store `--store` or `data/kiln.sqlite`), the benchmark's
   chain logs of tokens 1…R (`batch_events.py`), and `kiln batch` publishes them: blocks, CAR, manifest, a run.
2. **The rest, by SQL** in one transaction, the same rows Kiln writes (its schema, its hashes):
   - tokens R+1…N: a mint (`Transfer` from 0) and a `LevelUp` log each, in blocks 1…999 (below the real logs, so
     the cursor and the fold mark already cover them), state version 1 `{"level": 1 + id % 15, "owner": …}` — what
     the template's fold makes of those logs, hashed as Kiln does (Keccak-256 of the canonical JSON) —, a `done` job
     and a publication in batches of 10 000 tokens (batches 2…);
   - every tenth token (real ones too) two more `LevelUp`s, states 2 and 3, jobs and publications in later batches:
     a history of 3 versions;
   - a publication's CIDs are those of real token `(id - 1) % R + 1`, so every page and every metadata answer
     reads real blocks (`kiln verify` of a copied token fails, as it should: its metadata names another id);
   - `published_tokens` and `published_collections` (each token's latest publication and each collection's totals)
     are summed again by the statements of Kiln's own migration 7.
   PostgreSQL gets the rows by `COPY` through `psql`, then `ANALYZE`.
3. **`manifest.json` as Kiln keeps it**: `kiln regen` of token 1 publishes it once more (batch and publication one
   more each) and, since the store's mark no longer describes the file, writes `manifest.json` whole — every token
   and its history — and records what it holds, so later batches merge into it as they would on a real store.

Prints one line of JSON — the counts, and where the site is — and keeps it as WORK/site/scale.json.
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

from eth_hash.auto import keccak

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHAIN = 31337
CONTRACT = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
TRANSFER = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
LEVEL_UP = "0x" + keccak(b"LevelUp(uint256,uint256)").hex()
PER_BATCH = 10_000

# Migration 7's sums (Sources/KilnStore/SQLiteStore+Batches.swift `migrateV7`, PostgresStore+Queries.swift).
RESUM = """
DELETE FROM published_tokens;
DELETE FROM published_collections;
INSERT INTO published_tokens (chain_id, contract, id_length, token_id, publication, versions)
    SELECT chain_id, contract, length(token_id), token_id, max(id), count(*) FROM publications
    GROUP BY chain_id, contract, token_id;
INSERT INTO published_collections (chain_id, contract, tokens, publications, last_batch)
    SELECT chain_id, contract, count(DISTINCT token_id), count(*), max(batch) FROM publications
    GROUP BY chain_id, contract;
"""


def word(value):
    return "0x" + value.to_bytes(32, "big").hex()


def owner(token):  # batch_events.py's owners
    return "0x" + keccak(f"kiln bench owner {token % 97}".encode())[-20:].hex()


def state(token, level):
    text = json.dumps({"level": level, "owner": owner(token)}, separators=(",", ":"), sort_keys=True)
    return text, "0x" + keccak(text.encode()).hex()


def make_site(work, real, store, kiln):
    site = os.path.join(work, "site")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(site)
    python = os.path.join(ROOT, ".venv/bin/python")
    subprocess.run([python, os.path.join(ROOT, "scripts/bench/batch_events.py"), str(real),
                    os.path.join(site, "events.jsonl")], check=True)
    template = os.path.join(site, "template")
    shutil.copytree(os.path.join(ROOT, "templates/forge-knights"), template)
    path = os.path.join(template, "template.yml")
    text = open(path).read()
    text = re.sub(r"\ninference:\n(  .*\n)+", "\n", text)
    text = re.sub(r"  - inference: main\n(    .*\n)+", "", text)
    open(path, "w").write(text)
    shutil.copy(os.path.join(ROOT, "examples/operators.yml"), os.path.join(site, "operators.yml"))
    with open(os.path.join(site, "kiln.yml"), "w") as out:
        out.write(f"chainId: {CHAIN}\nstore: {store or 'data/kiln.sqlite'}\nout: out\nevents: {{file: events.jsonl}}\n"
                  "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: template}\n"
                  "operators: {file: operators.yml}\n")
    done = subprocess.run([kiln, "batch", "--log-format", "json"], cwd=site, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"kiln batch failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return site


class SQLiteWriter:
    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 10000")

    def query(self, sql):
        return self.db.execute(sql).fetchall()

    def begin(self):
        self.db.execute("BEGIN IMMEDIATE")

    def rows(self, table, columns, rows):
        marks = ",".join("?" * len(columns))
        self.db.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})",
                            (tuple(bytes.fromhex(v[2:]) if isinstance(v, Blob) else v for v in row) for row in rows))

    def finish(self):
        for statement in RESUM.split(";"):  # not executescript: it commits first
            if statement.strip():
                self.db.execute(statement)
        self.db.execute("COMMIT")


class Blob(str):
    """A bytes column, written as 0x-hex."""


class PostgresWriter:
    def __init__(self, url):
        self.url = url
        self.script = ["\\set ON_ERROR_STOP on\n", "BEGIN;\n"]
        self.sequences = []

    def query(self, sql):
        out = subprocess.run(["psql", self.url, "-AtX", "-F", "|", "-c", sql], capture_output=True, text=True,
                             check=True).stdout
        return [tuple(None if v == "" else int(v) if v.lstrip("-").isdigit() else v for v in line.split("|"))
                for line in out.splitlines()]

    def begin(self):
        pass

    def rows(self, table, columns, rows):
        self.script.append(f"COPY {table} ({','.join(columns)}) FROM STDIN;\n")
        for row in rows:
            self.script.append("\t".join(
                "\\N" if v is None else ("\\\\x" + v[2:]) if isinstance(v, Blob) else
                ("t" if v else "f") if isinstance(v, bool) else str(v) for v in row) + "\n")
        self.script.append("\\.\n")
        if "id" in columns:
            self.sequences.append(table)

    def finish(self):
        self.script.append(RESUM)
        for table in self.sequences:
            self.script.append(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}));\n")
        self.script.append("COMMIT;\nANALYZE;\n")
        subprocess.run(["psql", self.url, "-qX", "-o", "/dev/null"], input="".join(self.script), text=True, check=True)


def synthesize(writer, tokens, real):
    (template_hash,), = writer.query("SELECT DISTINCT template_hash FROM jobs")
    real_publications = writer.query(
        "SELECT token_id, directory, metadata, image, thumbnail, template FROM publications ORDER BY id")
    cids = {int(row[0]): row[1:] for row in real_publications}
    next_id = {table: (writer.query(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0] + 1)
               for table in ("events", "token_state", "jobs", "publications")}
    (last_batch,), = writer.query("SELECT coalesce(max(number), 0) FROM batches")

    # Logs: mints and first level-ups of the new tokens, then two level-ups of every tenth token.
    logs = [(t, [TRANSFER, word(0), "0x" + "00" * 12 + owner(t)[2:], word(t)], "0x") for t in range(real + 1, tokens + 1)]
    logs += [(t, [LEVEL_UP, word(t)], word(1 + t % 15)) for t in range(real + 1, tokens + 1)]
    history = [t for t in range(10, tokens + 1, 10)]
    for step in (1, 2):
        logs += [(t, [LEVEL_UP, word(t)], word(1 + t % 15 + step)) for t in history]
    per_block = -(-len(logs) // 999)
    event_rows = []
    for index, (_, topics, data) in enumerate(logs):
        block, log_index = 1 + index // per_block, index % per_block
        event_rows.append((next_id["events"] + index, CHAIN, CONTRACT, block,
                           "0x" + keccak(f"kiln scale block {block}".encode()).hex(),
                           "0x" + keccak(f"kiln scale tx {block} {log_index}".encode()).hex(), log_index,
                           ",".join(topics), Blob(data), False))
    writer.begin()
    writer.rows("events", ["id", "chain_id", "contract", "block_number", "block_hash", "transaction_hash", "log_index",
                           "topics", "data", "removed"], event_rows)
    del event_rows, logs

    # Versions: (token, version, level); version 1 for the new tokens, 2 and 3 for every tenth.
    versions = [(t, 1, 1 + t % 15) for t in range(real + 1, tokens + 1)]
    versions += [(t, v, 1 + t % 15 + v - 1) for v in (2, 3) for t in history]
    states, jobs, publications, batches = [], [], [], []
    for index, (token, version, level) in enumerate(versions):
        text, digest = state(token, level)
        batch = last_batch + 1 + index // PER_BATCH
        if not batches or batches[-1][0] != batch:
            batches.append((batch, "closed"))
        job = next_id["jobs"] + index
        states.append((next_id["token_state"] + index, CHAIN, CONTRACT, str(token), version, text, digest))
        jobs.append((job, CHAIN, CONTRACT, str(token), version, digest, template_hash, "done", 1, 999, batch))
        directory, metadata, image, thumbnail, template = cids[(token - 1) % real + 1]
        publications.append((next_id["publications"] + index, job, batch, CHAIN, CONTRACT, str(token), digest,
                             template_hash, directory, metadata, image, thumbnail, None, None, template))
    writer.rows("token_state", ["id", "chain_id", "contract", "token_id", "version", "state_json", "state_hash"], states)
    writer.rows("jobs", ["id", "chain_id", "contract", "token_id", "state_version", "state_hash", "template_hash",
                         "status", "attempts", "reference_block", "leased_batch"], jobs)
    writer.rows("batches", ["number", "status"], batches)
    writer.rows("publications", ["id", "job_id", "batch", "chain_id", "contract", "token_id", "state_hash",
                                 "template_hash", "directory", "metadata", "image", "thumbnail", "inference",
                                 "attestation", "template"], publications)
    writer.finish()
    return {"tokens": tokens, "realTokens": real, "publications": len(real_publications) + len(publications),
            "batches": last_batch + len(batches), "events": len(versions) + (tokens - real)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work")
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--real", type=int, default=200)
    parser.add_argument("--store", help="a postgres:// URL (default: SQLite, WORK/site/data/kiln.sqlite)")
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build/release/kiln"), type=os.path.abspath)
    parser.add_argument("--no-regen", action="store_true",
                        help="skip step 3 (manifest.json then lists the real tokens only: for tests of the store alone)")
    args = parser.parse_args()
    if not 1 <= args.real <= args.tokens:
        sys.exit("--real must be between 1 and --tokens")
    started = time.monotonic()
    site = make_site(os.path.abspath(args.work), args.real, args.store, args.kiln)
    writer = PostgresWriter(args.store) if args.store else SQLiteWriter(os.path.join(site, "data/kiln.sqlite"))
    summary = synthesize(writer, args.tokens, args.real)
    if not args.no_regen:
        regen = subprocess.run([args.kiln, "regen", CONTRACT, "1", "--log-format", "json"], cwd=site,
                               capture_output=True, text=True)
        if regen.returncode != 0:
            sys.exit(f"kiln regen failed ({regen.returncode}):\n{regen.stderr[-4000:]}")
        summary.update(publications=summary["publications"] + 1, batches=summary["batches"] + 1)
    summary.update(site=site, seconds=round(time.monotonic() - started, 1))
    with open(os.path.join(site, "scale.json"), "w") as out:  # for scale_bench.py
        json.dump(summary, out)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
