#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# `kiln build` of N Forge Knights (inference layer on the built-in model) against the plain Pillow script of the
# same layers (scripts/bench/build_pillow.py), one after the other on this machine; prints both and the ratio.
# Usage: scripts/bench/build_bench.sh [N]   (default 10000; needs a release build and the .venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-10000}
swift build -c release --product kiln >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kiln_json=$(.build/release/kiln build --template templates/forge-knights --count "$count" -o "$work/kiln" --log-format json | tail -1)
kiln_seconds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$kiln_json")
pillow_json=$(.venv/bin/python scripts/bench/build_pillow.py templates/forge-knights "$work/kiln" "$work/pillow" "$count")
pillow_seconds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$pillow_json")
python3 - "$count" "$kiln_seconds" "$pillow_seconds" "$(nproc)" <<'PY'
import sys
n, k, p, cores = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"{n} Forge Knights on {cores} cores")
print(f"kiln build (built-in model, images, metadata, CIDs, CAR): {k:8.1f} s  {n / k:7.1f} tokens/s")
print(f"Pillow script (same layers, no model, no CIDs):          {p:8.1f} s  {n / p:7.1f} tokens/s")
print(f"kiln build is {p / k:.1f}x the Pillow script")
PY
