#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# Starts four local operator nodes (stakes 40/30/20/10, the 10 one dishonest: it returns a wrong output) and
# writes DIR/operators.yml for `kiln infer`. Keys are generated fresh in DIR (mode 0600) and never leave it.
#   scripts/demo/local-operators.sh [DIR]        # default: ./kiln-operators
# KILN_NODE_ARGS adds options to every `kiln node serve` (the batch benchmark raises --rate-limit with it).
# Stop the nodes with: kill $(cat DIR/pids)
set -euo pipefail
dir="${1:-kiln-operators}"
root="$(cd -P "$(dirname "$0")/../.." && pwd)"
kiln="${KILN:-$root/.build/debug/kiln}"
[ -x "$kiln" ] || { (cd "$root" && swift build --product kiln >/dev/null); }
mkdir -p "$dir"
: > "$dir/pids"
contract=0x00000000000000000000000000000000000000C0
{
    echo "chainId: 31337"
    echo "verifyingContract: \"$contract\""
    echo "thresholdBps: 6667"
    echo "operators:"
} > "$dir/operators.yml"
stakes=(40 30 20 10)
for i in 0 1 2 3; do
    key="$dir/operator-$i.key"
    [ -f "$key" ] || "$kiln" key new -o "$key" >/dev/null
    fault=()
    [ "$i" = 3 ] && fault=(--test-fault wrong-output)
    port=$((18101 + i))
    # shellcheck disable=SC2086 # KILN_NODE_ARGS is a list of options
    "$kiln" node serve --key "$key" --port "$port" --chain-id 31337 --verifying-contract "$contract" "${fault[@]}" \
        ${KILN_NODE_ARGS:-} > "$dir/node-$i.log" 2>&1 &
    echo $! >> "$dir/pids"
    address=$("$kiln" key address "$key")
    echo "  - {address: \"$address\", endpoint: \"http://127.0.0.1:$port\", stake: \"${stakes[$i]}000000000000000000\"}" >> "$dir/operators.yml"
done
for i in 0 1 2 3; do
    for _ in $(seq 50); do grep -q "listening on" "$dir/node-$i.log" 2>/dev/null && break; sleep 0.1; done
done
echo "4 nodes up (node 3 is dishonest); operators file: $dir/operators.yml; stop: kill \$(cat $dir/pids)"
