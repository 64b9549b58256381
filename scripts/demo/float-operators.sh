#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# Starts four honest local operators for the float model kiln/cppn-float-v1, each a `kiln node serve --upstream`
# in front of its own onnxruntime model server (scripts/models/cppn_onnx.py), set up the way real fleets differ:
#   operator 0: fp32, 1 thread   operator 1: fp32, 2 threads, graph optimisation off
#   operator 2: fp16, 1 thread   operator 3: fp16, 2 threads
# Stakes 35/30/20/15, threshold 66.67 %. Writes DIR/operators.yml; keys are made fresh in DIR (mode 0600).
#   scripts/demo/float-operators.sh [DIR]        # default: ./kiln-float-operators
# Needs the Python venv with onnxruntime (bash .ci/run makes it; or: python3 -m venv .venv &&
# .venv/bin/pip install -r scripts/requirements.txt). Stop everything with: kill $(cat DIR/pids)
set -euo pipefail
dir="${1:-kiln-float-operators}"
root="$(cd -P "$(dirname "$0")/../.." && pwd)"
kiln="${KILN:-$root/.build/debug/kiln}"
python="${PYTHON:-$root/.venv/bin/python3}"
[ -x "$kiln" ] || { (cd "$root" && swift build --product kiln >/dev/null); }
[ -x "$python" ] || { echo "no $python: make the venv first (see the comment at the top)" >&2; exit 1; }
mkdir -p "$dir"
: > "$dir/pids"
contract=0x00000000000000000000000000000000000000C0
{
    echo "chainId: 31337"
    echo "verifyingContract: \"$contract\""
    echo "thresholdBps: 6667"
    echo "operators:"
} > "$dir/operators.yml"
stakes=(35 30 20 15)
settings=("--precision fp32 --threads 1" "--precision fp32 --threads 2 --opt none" "--precision fp16 --threads 1" "--precision fp16 --threads 2")
for i in 0 1 2 3; do
    model_port=$((19201 + i))
    # shellcheck disable=SC2086
    "$python" "$root/scripts/models/cppn_onnx.py" serve --port "$model_port" ${settings[$i]} > "$dir/model-$i.log" 2>&1 &
    echo $! >> "$dir/pids"
done
for i in 0 1 2 3; do
    key="$dir/operator-$i.key"
    [ -f "$key" ] || "$kiln" key new -o "$key" >/dev/null
    port=$((18201 + i))
    "$kiln" node serve --key "$key" --port "$port" --chain-id 31337 --verifying-contract "$contract" \
        --upstream "http://127.0.0.1:$((19201 + i))" --upstream-model kiln/cppn-float-v1 > "$dir/node-$i.log" 2>&1 &
    echo $! >> "$dir/pids"
    address=$("$kiln" key address "$key")
    echo "  - {address: \"$address\", endpoint: \"http://127.0.0.1:$port\", stake: \"${stakes[$i]}000000000000000000\"}" >> "$dir/operators.yml"
done
for i in 0 1 2 3; do
    for _ in $(seq 100); do grep -q "listening on" "$dir/model-$i.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "listening on" "$dir/model-$i.log" || { echo "model server $i did not start: $(cat "$dir/model-$i.log")" >&2; exit 1; }
    for _ in $(seq 50); do grep -q "listening on" "$dir/node-$i.log" 2>/dev/null && break; sleep 0.1; done
done
echo "4 float-model operators up (fp32/fp32/fp16/fp16); operators file: $dir/operators.yml; stop: kill \$(cat $dir/pids)"
