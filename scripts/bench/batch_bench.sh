#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# The batch benchmark (release build, 4 local nodes on loopback, the 4th dishonest):
#   1. a full batch of N tokens (default 1000) of templates/forge-knights, and a no-change batch over that store;
#   2. a no-change batch over a store of M tokens (default 10000), published once with the same template less
#      its inference layer (so building that store takes minutes, not an hour; a no-change batch does no
#      inference and no rendering either way).
#   scripts/bench/batch_bench.sh [N] [M]        # work folder: .bench-batch/ (git-ignored); N = 0 skips part 1, M = 0 part 2
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
full=${1:-1000}
many=${2:-10000}
work=$root/.bench-batch
kiln=$root/.build/release/kiln
swift build -c release --product kiln >/dev/null
rm -rf "$work"
mkdir -p "$work"
# The nodes' per-client limit (50 requests/s by default) raised: a coordinator this fast would meet it, and the
# bench measures Kiln, not the limiter (noQuorum jobs, 429s).
KILN=$kiln KILN_NODE_ARGS="--rate-limit 1000 --rate-burst 1000" scripts/demo/local-operators.sh "$work/operators" >/dev/null
trap 'kill $(cat "$work/operators/pids") 2>/dev/null || true' EXIT

site() {  # site NAME TOKENS TEMPLATE
    mkdir -p "$work/$1"
    .venv/bin/python scripts/bench/batch_events.py "$2" "$work/$1/events.jsonl"
    printf 'chainId: 31337\nstore: data/kiln.sqlite\nout: out\nevents: {file: events.jsonl}\ncontracts:\n  - {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: %s}\noperators: {file: ../operators/operators.yml}\nconcurrency: 8\n' \
        "$3" > "$work/$1/kiln.yml"
}
batch() {  # batch NAME LABEL TOKENS → prints one result line: wall, tokens/s, CPU of kiln and of the nodes, peak RSS
    (cd "$work/$1" && "$root/.venv/bin/python" - "$2" "$3" "$kiln" "$work/operators/pids") <<'PY'
import json, os, resource, subprocess, sys, time
label, tokens, kiln, pids = sys.argv[1], int(sys.argv[2]), sys.argv[3], open(sys.argv[4]).read().split()
tick = os.sysconf("SC_CLK_TCK")
def node_cpu():  # user + system seconds of the four nodes, from /proc
    total = 0.0
    for pid in pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total
before, nodes, start = resource.getrusage(resource.RUSAGE_CHILDREN), node_cpu(), time.monotonic()
done = subprocess.run([kiln, "batch", "--log-format", "json"], capture_output=True, text=True)
wall, after, nodes = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN), node_cpu() - nodes
summary = json.loads(done.stdout.strip().splitlines()[-1])
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
line = f"{label}: {wall:.2f} s wall, {summary['published']} published"
if summary["published"]:
    n = summary["published"]
    line += (f", {n / wall:.1f} tokens/s; CPU per token: kiln batch {cpu / n * 1000:.1f} ms "
             f"(user {(after.ru_utime - before.ru_utime) / n * 1000:.1f}), nodes {nodes / n * 1000:.1f} ms")
else:
    line += f"; kiln batch CPU {cpu:.3f} s"
line += f"; kiln batch peak RSS {after.ru_maxrss / 1024:.0f} MiB"
print(line)
assert summary["exitCode"] == 0, summary
PY
}

if [ "$full" -gt 0 ]; then  # N = 0 skips part 1, M = 0 part 2
    site full "$full" "$root/templates/forge-knights"
    batch full "full batch, $full tokens (inference + quorum + render + publish)" "$full"
    batch full "no-change batch, $full tokens" "$full"
fi

[ "$many" -gt 0 ] || exit 0  # M = 0 skips part 2
mkdir -p "$work/plain"
cp -r templates/forge-knights "$work/plain/template"
python3 -I - "$work/plain/template/template.yml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(r"\ninference:\n(  .*\n)+", "\n", text)
text = re.sub(r"  - inference: main\n(    .*\n)+", "", text)
open(path, "w").write(text)
PY
site many "$many" "$work/plain/template"
batch many "first batch, $many tokens (no inference layer)" "$many"
batch many "no-change batch, $many tokens" "$many"
