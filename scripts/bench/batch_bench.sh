#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# The batch benchmark (release build, 4 local nodes on loopback, the 4th dishonest):
#   1. a full batch of N tokens (default 1000) of templates/forge-knights, and a no-change batch over that store;
#   2. a no-change batch over a store of M tokens (default 10000), published once with the same template less
#      its inference layer (so building that store takes minutes, not an hour; a no-change batch does no
#      inference and no rendering either way).
#   scripts/bench/batch_bench.sh [N] [M]        # work folder: .bench-batch/ (git-ignored); N = 0 skips part 1
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
KILN=$kiln scripts/local-operators.sh "$work/operators" >/dev/null
trap 'kill $(cat "$work/operators/pids") 2>/dev/null || true' EXIT

now() { date +%s.%N; }
site() {  # site NAME TOKENS TEMPLATE
    mkdir -p "$work/$1"
    .venv/bin/python scripts/bench/batch_events.py "$2" "$work/$1/events.jsonl"
    printf 'chainId: 31337\nstore: data/kiln.sqlite\nout: out\nevents: {file: events.jsonl}\ncontracts:\n  - {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: %s}\noperators: {file: ../operators/operators.yml}\nconcurrency: 8\n' \
        "$3" > "$work/$1/kiln.yml"
}
batch() {  # batch NAME LABEL TOKENS → prints one result line
    local start end summary
    start=$(now)
    summary=$(cd "$work/$1" && "$kiln" batch --log-format json | tail -1)
    end=$(now)
    python3 - "$2" "$3" "$start" "$end" "$summary" <<'PY'
import json, sys
label, tokens, start, end, summary = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
wall = end - start
line = f"{label}: {wall:.2f} s wall, {summary['published']} published"
if summary["published"]:
    line += f", {summary['published'] / wall:.1f} tokens/s"
print(line)
assert summary["exitCode"] == 0, summary
PY
}

if [ "$full" -gt 0 ]; then  # N = 0 skips part 1
    site full "$full" "$root/templates/forge-knights"
    batch full "full batch, $full tokens (inference + quorum + render + publish)" "$full"
    batch full "no-change batch, $full tokens" "$full"
fi

mkdir -p "$work/plain"
cp -r templates/forge-knights "$work/plain/template"
python3 - "$work/plain/template/template.yml" <<'PY'
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
