#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# Several workers on PostgreSQL against one `kiln batch` on SQLite (release build, 4 local nodes on loopback, the
# 4th dishonest), the same N tokens of templates/forge-knights (default 200):
#   1. SQLite: one `kiln batch` (concurrency 8);
#   2. PostgreSQL (a private server from scripts/dev/postgres-server.sh): 1, 2 and 3 `kiln worker`s (concurrency 8, 4
#      and 3 each: about the same jobs in flight as the batch, which the nodes' queues hold; each worker with an
#      output folder of its own) under one `kiln batch --no-work` coordinator, timed from the coordinator's start
#      to its end (sync, the jobs, the outputs);
#   3. the lease query alone under pgbench: 100 000 queued jobs, each transaction leasing 4 of them with
#      FOR UPDATE SKIP LOCKED, 1 / 4 / 16 clients.
#   scripts/bench/workers_bench.sh [N]        # work folder: .bench-workers/ (git-ignored)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tokens=${1:-200}
work=$root/.bench-workers
kiln=$root/.build/release/kiln
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
swift build -c release --product kiln >/dev/null
rm -rf "$work"
mkdir -p "$work"
# The nodes' per-client limit raised, as in batch_bench.sh.
KILN=$kiln KILN_NODE_ARGS="--rate-limit 1000 --rate-burst 1000" scripts/demo/local-operators.sh "$work/operators" >/dev/null
eval "$(scripts/dev/postgres-server.sh start)"
pids=()
cleanup() {
    kill "${pids[@]}" $(cat "$work/operators/pids") 2>/dev/null || true
    scripts/dev/postgres-server.sh stop "$KILN_TEST_POSTGRES_DIR"
}
trap cleanup EXIT
.venv/bin/python scripts/bench/batch_events.py "$tokens" "$work/events.jsonl"

now() { date +%s.%N; }
site() {  # site NAME STORE
    mkdir -p "$work/$1"
    cp "$work/events.jsonl" "$work/$1/"
    printf 'chainId: 31337\nstore: %s\nout: out\nevents: {file: events.jsonl}\ncontracts:\n  - {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: %s}\noperators: {file: ../operators/operators.yml}\nconcurrency: 8\n' \
        "$2" "$root/templates/forge-knights" > "$work/$1/kiln.yml"
}
report() {  # report LABEL START END SUMMARY-JSON
    python3 -I - "$@" <<'PY'
import json, sys
label, start, end, summary = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
wall = end - start
done = summary["published"] + summary.get("publishedByWorkers", 0)
print(f"{label}: {wall:.2f} s wall, {done} published, {done / wall:.1f} jobs/s")
assert summary["exitCode"] == 0, summary
PY
}

site sqlite data/kiln.sqlite
start=$(now)
summary=$(cd "$work/sqlite" && "$kiln" batch --log-format json | tail -1)
report "SQLite, one kiln batch" "$start" "$(now)" "$summary"

for workers in 1 2 3; do
    db="kiln_w$workers"
    psql -X -q "$KILN_TEST_POSTGRES" -c "CREATE DATABASE $db"
    site "pg$workers" "${KILN_TEST_POSTGRES%/postgres}/$db"
    pids=()
    each=$(( (8 + workers - 1) / workers ))
    for w in $(seq 1 "$workers"); do
        (cd "$work/pg$workers" && exec "$kiln" worker --out "w$w" --name "w$w" --concurrency "$each" --log-format json \
            > "w$w.log" 2>&1) &
        pids+=($!)
    done
    sleep 1
    start=$(now)
    summary=$(cd "$work/pg$workers" && "$kiln" batch --no-work --log-format json | tail -1)
    report "PostgreSQL, $workers worker(s) × concurrency $each + coordinator" "$start" "$(now)" "$summary"
    kill -TERM "${pids[@]}"
    wait "${pids[@]}" 2>/dev/null || true
    cmp "$work/sqlite/out/batch-1.car" "$work/pg$workers/out/batch-1.car" \
        && echo "  batch-1.car byte-identical to SQLite's"
done

psql -X -q "$KILN_TEST_POSTGRES" -c "CREATE DATABASE lease" -c "\c lease" -c "
    CREATE TABLE jobs (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL, lease_owner TEXT, lease_until DOUBLE PRECISION,
        attempts INTEGER NOT NULL DEFAULT 0, leased_batch INTEGER);
    CREATE INDEX jobs_by_status ON jobs (status, id);
    CREATE INDEX jobs_runnable ON jobs (id) WHERE status IN ('queued', 'no_quorum');
    CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'leased';"
cat > "$work/lease.sql" <<'SQL'
BEGIN;
UPDATE jobs SET status = 'leased', lease_owner = 'bench' || :client_id, lease_until = 1e10, attempts = attempts + 1
WHERE id IN (SELECT id FROM jobs WHERE status = 'leased' AND lease_until < 0
    ORDER BY id LIMIT 4 FOR UPDATE SKIP LOCKED) RETURNING id;
UPDATE jobs SET status = 'leased', lease_owner = 'bench' || :client_id, lease_until = 1e10, attempts = attempts + 1,
    leased_batch = 1
WHERE id IN (SELECT id FROM jobs WHERE status IN ('queued', 'no_quorum') AND (leased_batch IS NULL OR leased_batch <> 1)
    ORDER BY id LIMIT 4 FOR UPDATE SKIP LOCKED) RETURNING id;
COMMIT;
SQL
for clients in 1 4 16; do
    psql -X -q "${KILN_TEST_POSTGRES%/postgres}/lease" -c "TRUNCATE jobs" \
        -c "INSERT INTO jobs (status) SELECT 'queued' FROM generate_series(1, 100000)" -c "VACUUM ANALYZE jobs"
    tps=$("$pgbin/pgbench" -n -f "$work/lease.sql" -c "$clients" -j 2 -t $((20000 / clients)) \
        "${KILN_TEST_POSTGRES%/postgres}/lease" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    twice=$(psql -X -q -A -t "${KILN_TEST_POSTGRES%/postgres}/lease" -c "SELECT count(*) FROM jobs WHERE attempts > 1")
    echo "lease query, $clients client(s): $tps transactions/s ($(python3 -I -c "print(round(4 * $tps))") jobs leased/s), $twice job(s) leased twice"
done
