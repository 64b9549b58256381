#!/usr/bin/env bash
# Kiln — Apache-2.0. See LICENSE.
# Kiln against a real (local) chain, end to end, step by step — what README's "Run against a real chain" describes:
#   1. a py-evm dev chain (scripts/dev/devchain.py) with the test collection (KilnNFT) and a StakeRegistry;
#   2. four `kiln node serve` operators (weights 40/30/20/10; the last signs wrong answers) registered in it,
#      each with a signing key of its own, threshold weight 67;
#   3. five tokens minted, one levelled up; kiln.yml reading events over JSON-RPC, operators from the registry,
#      publishing tokenURI on chain (publish.mode onchain);
#   4. `kiln operators`, `kiln batch`, then the contract's tokenURI, the registry's own ERC-1271 check of one token's quorum,
#      a level-up and a second batch that sends one transaction.
# Needs the test bench venv (.venv, made by `bash .ci/run`).   scripts/demo/chain-demo.sh [DIR]   (default ./kiln-chain-demo)
set -euo pipefail
dir="${1:-kiln-chain-demo}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
python="$root/.venv/bin/python"
kiln="${KILN:-$root/.build/debug/kiln}"
[ -x "$python" ] || { echo "no test bench venv at $python: run 'bash .ci/run' first" >&2; exit 1; }
[ -x "$kiln" ] || (cd "$root" && swift build --product kiln >/dev/null)
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
pids=()
# SIGKILL: a parent may have left SIGTERM blocked in the children it starts (a test runner does).
trap 'kill -9 "${pids[@]}" 2>/dev/null || true' EXIT

step() { printf '\n== %s\n' "$*"; }
chain() { "$python" "$root/scripts/crosscheck/chain.py"; }  # one JSON request on stdin → one JSON answer
field() { "$python" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

step "dev chain"
"$python" "$root/scripts/dev/devchain.py" --port 0 --key-file devchain-keys > devchain.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '"url"' devchain.log 2>/dev/null && break; sleep 0.2; done
url=$(head -1 devchain.log | field '["url"]')
chain_id=$(head -1 devchain.log | field '["chainId"]')
echo "$url (chain id $chain_id)"

step "contracts: KilnNFT (owner key 0, publisher key 1) and StakeRegistry"
nft=$(echo "{\"op\": \"deploy\", \"url\": \"$url\", \"keyFile\": \"devchain-keys\"}" | chain | field '["address"]')
registry=$(echo "{\"op\": \"deploy\", \"url\": \"$url\", \"keyFile\": \"devchain-keys\", \"name\": \"StakeRegistry\"}" | chain | field '["address"]')
echo "KilnNFT $nft, StakeRegistry $registry"

step "four operators: a node each, registered with its own signing key"
weights=(40 30 20 10)
calls=""
nodes=""
for i in 0 1 2 3; do
    "$kiln" key new -o "signing-$i.key" > /dev/null
    operator=$("$kiln" key new -o "operator-$i.key")  # the operator's address; its node signs with signing-$i.key
    fault=()
    [ "$i" = 3 ] && fault=(--test-fault wrong-output)
    "$kiln" node serve --key "signing-$i.key" --port 0 --chain-id "$chain_id" --verifying-contract "$registry" "${fault[@]}" > "node-$i.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q "listening on" "node-$i.log" 2>/dev/null && break; sleep 0.1; done
    endpoint=$(grep -m1 '^listening on' "node-$i.log" | awk '{print $3}')
    signing=$("$kiln" key address "signing-$i.key")
    calls+="{\"fn\": \"registerOperator\", \"args\": [\"$operator\", \"$signing\", ${weights[$i]}]}, "
    nodes+="      \"$operator\": $endpoint"$'\n'
    echo "operator $operator  signing key $signing  weight ${weights[$i]}  node $endpoint${fault:+ (signs wrong answers)}"
done
echo "{\"op\": \"transact\", \"url\": \"$url\", \"keyFile\": \"devchain-keys\", \"contract\": \"$registry\", \"name\": \"StakeRegistry\",
  \"calls\": [$calls {\"fn\": \"updateStakeThreshold\", \"args\": [67]}]}" | chain > /dev/null
echo "threshold weight 67 of 100"

step "five tokens minted to key 2, token 2 levelled up"
echo "{\"op\": \"transact\", \"url\": \"$url\", \"keyFile\": \"devchain-keys\", \"contract\": \"$nft\", \"calls\": [
  {\"fn\": \"mint\", \"args\": [{\"account\": 2}, 1]}, {\"fn\": \"mint\", \"args\": [{\"account\": 2}, 2]},
  {\"fn\": \"mint\", \"args\": [{\"account\": 2}, 3]}, {\"fn\": \"mint\", \"args\": [{\"account\": 2}, 4]},
  {\"fn\": \"mint\", \"args\": [{\"account\": 2}, 5]}, {\"fn\": \"levelUp\", \"args\": [2]}]}" | chain > /dev/null

step "kiln.yml"
sed -n 2p devchain-keys > publisher.key   # key 1: the collection's publisher
chmod 600 publisher.key
cat > kiln.yml <<EOF
chainId: $chain_id
store: data/kiln.sqlite
out: out
events: {rpc: "$url", fromBlock: 0}
contracts:
  - {address: "$nft", template: $root/templates/forge-knights}
operators:
  source: chain
  registry: "$registry"
  nodes:
$nodes
publish: {mode: onchain, key: publisher.key}
EOF
cat kiln.yml

step "kiln operators: the registry as Kiln reads it, and whether each node answers"
"$kiln" operators

step "kiln batch"
"$kiln" batch --log-format human

step "tokenURI on the contract"
echo "{\"op\": \"call\", \"url\": \"$url\", \"contract\": \"$nft\", \"calls\": [
  {\"fn\": \"tokenURI\", \"args\": [1]}, {\"fn\": \"tokenURI\", \"args\": [2]}, {\"fn\": \"tokenURI\", \"args\": [5]}]}" | chain | field '["results"]'

step "the registry checks token 2's quorum itself (ERC-1271 isValidSignature)"
"$kiln" attestation onchain-payload "$nft:2" --rpc "$url" | field '["registryAccepts"]'

step "token 3 levels up; the next batch redoes it and sends one setTokenURI"
echo "{\"op\": \"transact\", \"url\": \"$url\", \"keyFile\": \"devchain-keys\", \"contract\": \"$nft\", \"calls\": [{\"fn\": \"levelUp\", \"args\": [3]}]}" | chain > /dev/null
"$kiln" batch --log-format human

step "and a run with nothing new sends nothing"
"$kiln" batch --log-format human
"$kiln" verify "$nft:3"
