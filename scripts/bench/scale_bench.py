#!/usr/bin/env python3
"""Measures Kiln's commands and `kiln serve` over a store made by `scale_store.py` (release build): wall time, CPU and
peak RSS of each command, p50/p99 of the server's pages under `wrk`, the server's RSS, and a batch of 1 000 changed
tokens. Ends by changing the store (the regen and the changed batch publish), so run it on a fresh store.

    .venv/bin/python scripts/bench/scale_bench.py WORK/site [--kiln PATH] [--runs 5] [--port 18480]

Prints a Markdown table (one row per measure) and the same as JSON lines on stderr.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
sys.path.insert(0, os.path.join(ROOT, "scripts/bench"))


class Meter:
    """Runs a command, measuring its own CPU and peak RSS with wait4."""

    def __init__(self, kiln, site):
        self.kiln, self.site = kiln, site

    def __call__(self, *arguments, ok=(0,)):
        start = time.monotonic()
        process = subprocess.Popen([self.kiln, *arguments], cwd=self.site, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        # Read the pipes on threads: communicate() would reap the child; wait4 must.
        chunks = {"out": [], "err": []}
        readers = [threading.Thread(target=lambda n, f: chunks[n].append(f.read()), args=(n, f))
                   for n, f in (("out", process.stdout), ("err", process.stderr))]
        for reader in readers:
            reader.start()
        _, status, usage = os.wait4(process.pid, 0)
        for reader in readers:
            reader.join()
        wall = time.monotonic() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            sys.exit(f"kiln {' '.join(arguments)} exited {code}:\n{b''.join(chunks['err']).decode()[-3000:]}")
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
                "out": b"".join(chunks["out"]).decode()}


def summarize(label, runs):
    walls = sorted(r["wall"] for r in runs)
    row = {"measure": label, "runs": len(runs), "wall_median_s": round(statistics.median(walls), 4),
           "wall_max_s": round(walls[-1], 4), "cpu_median_s": round(statistics.median(r["cpu"] for r in runs), 4),
           "rss_max_mib": round(max(r["rss"] for r in runs), 1)}
    print(json.dumps(row), file=sys.stderr)
    return row


def wrk(url, seconds, connections, headers=()):
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    def latency(tag):
        match = re.search(rf"^\s+{tag}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": round(rate), "p50_ms": round(latency("50"), 2), "p99_ms": round(latency("99"), 2),
            "non2xx": int(errors.group(1)) if errors else 0,
            "requests": int(re.search(r"(\d+) requests in", out).group(1))}


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site")
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build/release/kiln"), type=os.path.abspath)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--no-serve", action="store_true", help="skip kiln serve under wrk")
    args = parser.parse_args()
    site = os.path.abspath(args.site)
    kiln = Meter(args.kiln, site)
    rows = []

    kiln("batch")  # settles anything pending, so the next runs are no-change runs
    rows.append(summarize("no-change `kiln batch`", [kiln("batch") for _ in range(args.runs)]))
    rows.append(summarize("`kiln status`", [kiln("status") for _ in range(args.runs)]))
    rows.append(summarize("`kiln verify 3` (one token)", [kiln("verify", "3") for _ in range(max(1, args.runs // 2))]))

    # kiln serve under wrk.
    if not args.no_serve:
        server = subprocess.Popen([args.kiln, "serve", "--port", str(args.port)], cwd=site, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{args.port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/health").read()
                    break
                except OSError:
                    time.sleep(0.1)
            started_rss = rss_mib(server.pid)
            collection = f"{base}/collections/31337/{CONTRACT}"
            # Deep in the collection: the 100th token from its end (scale_store.py's summary says how many there are).
            made = json.load(open(os.path.join(site, "scale.json")))
            deep_id = str(max(1, made["tokens"] - 100))
            for label, url in [("collection page, first", collection), (f"collection page, after {deep_id}",
                               f"{collection}?after={deep_id}"), ("token page", f"{collection}/{deep_id}"),
                               ("metadata `/tokens/{…}`", f"{base}/tokens/31337/{CONTRACT}/{deep_id}"),
                               ("`/tokens/{…}/history`", f"{base}/tokens/31337/{CONTRACT}/10/history")]:
                for connections in (1, 16):  # latency alone, then under load
                    result = wrk(url, args.seconds, connections)
                    row = {"measure": f"`kiln serve` {label} ({connections} connection{'s' * (connections > 1)})",
                           **result}
                    print(json.dumps(row), file=sys.stderr)
                    rows.append(row)
            rows.append({"measure": "`kiln serve` RSS (MiB) at start / after the load",
                         "value": f"{started_rss:.0f} / {rss_mib(server.pid):.0f}"})
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()

    rows.append(summarize("`kiln regen` of one token", [kiln("regen", CONTRACT, "3", ok=(0, 3)) for _ in range(args.runs)]))
    # A batch of changed tokens: a LevelUp each for tokens 1…N, in a new block after everything recorded, to a level
    # no earlier run gave (so every token changes, run after run).
    events = os.path.join(site, "events.jsonl")
    last_block = max(int(json.loads(line)["blockNumber"], 16) for line in open(events))
    from eth_hash.auto import keccak
    level_up = "0x" + keccak(b"LevelUp(uint256,uint256)").hex()
    with open(events, "a") as out:
        for index in range(args.changed):
            block = last_block + 1 + index // 100
            out.write(json.dumps({
                "address": CONTRACT.lower(), "topics": [level_up, "0x" + (index + 1).to_bytes(32, "big").hex()],
                "data": "0x" + (last_block + index).to_bytes(32, "big").hex(), "blockNumber": hex(block),
                "blockHash": "0x" + keccak(f"kiln scale changed {block}".encode()).hex(),
                "transactionHash": "0x" + keccak(f"kiln scale changed tx {index}".encode()).hex(),
                "transactionIndex": hex(index % 100), "logIndex": hex(index % 100), "removed": False,
            }, separators=(",", ":")) + "\n")
    changed = kiln("batch")
    rows.append(summarize(f"`kiln batch` of {args.changed} changed tokens", [changed]))

    print("| measure | result |\n| --- | --- |")
    for row in rows:
        if "rps" in row:
            text = f"{row['rps']} req/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms"
            if row["non2xx"]:
                text += f", {row['non2xx']} non-2xx"
        elif "value" in row:
            text = row["value"]
        else:
            text = (f"{row['wall_median_s'] * 1000:.0f} ms wall (median of {row['runs']}, max "
                    f"{row['wall_max_s'] * 1000:.0f}), CPU {row['cpu_median_s'] * 1000:.0f} ms, peak RSS "
                    f"{row['rss_max_mib']:.0f} MiB")
        print(f"| {row['measure']} | {text} |")


if __name__ == "__main__":
    main()
