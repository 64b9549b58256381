#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Drives scripts/devchain.py for Kiln's chain tests, independently of Kiln: compiles the Vyper contracts with
`vyper`, signs transactions with eth-account and sends them over JSON-RPC with web3.

Reads one JSON request on stdin, prints one JSON answer:
  {"op": "deploy", "url", "keyFile"}                      → {"address", "block"}  (KilnNFT; owner key 0, publisher key 1)
  {"op": "transact", "url", "keyFile", "contract", "calls": [{"fn", "args", "from": key index}]}
                                                          ({"account": N} in args is key N's address)
                                                          → {"blocks": [block of each call]}
  {"op": "call", "url", "contract", "calls": [{"fn", "args"}]}  → {"results"}  (views, in one process)
  {"op": "rpc", "url", "method", "params"}                → {"result"}
"""
import json
import os
import subprocess
import sys

from eth_account import Account
from web3 import Web3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compiled(name):
    vyper = os.path.join(os.path.dirname(sys.executable), "vyper")
    out = subprocess.run([vyper, "-f", "abi,bytecode", os.path.join(ROOT, "scripts/contracts", name)], check=True, capture_output=True, text=True).stdout
    abi, bytecode = out.strip().split("\n", 1)
    return json.loads(abi), bytecode.strip()


def keys(path):
    with open(path) as f:
        return [Account.from_key(line.strip()) for line in f if line.strip()]


def send(w3, account, tx):
    tx = dict(tx)
    tx.setdefault("from", account.address)
    tx["nonce"] = w3.eth.get_transaction_count(account.address)
    tx["chainId"] = w3.eth.chain_id
    tx["gas"] = w3.eth.estimate_gas(tx)
    tx["maxFeePerGas"] = 3_000_000_000
    tx["maxPriorityFeePerGas"] = 1_000_000_000
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)
    if receipt["status"] != 1:
        raise SystemExit(f"transaction failed: {receipt}")
    return receipt


def main():
    request = json.load(sys.stdin)
    w3 = Web3(Web3.HTTPProvider(request["url"]))
    op = request["op"]
    if op == "deploy":
        accounts = keys(request["keyFile"])
        abi, bytecode = compiled("KilnNFT.vy")
        contract = w3.eth.contract(abi=abi, bytecode=bytecode)
        tx = contract.constructor(accounts[1].address).build_transaction({"from": accounts[0].address, "gas": 5_000_000})
        receipt = send(w3, accounts[0], {k: v for k, v in tx.items() if k in ("from", "data")})
        answer = {"address": receipt["contractAddress"].lower(), "block": receipt["blockNumber"]}
    elif op == "transact":
        accounts = keys(request["keyFile"])
        abi, _ = compiled("KilnNFT.vy")
        contract = w3.eth.contract(address=Web3.to_checksum_address(request["contract"]), abi=abi)
        blocks = []
        for call in request["calls"]:
            account = accounts[call.get("from", 0)]
            args = [accounts[a["account"]].address if isinstance(a, dict) else a for a in call["args"]]
            tx = getattr(contract.functions, call["fn"])(*args).build_transaction({"from": account.address, "gas": 500_000})
            receipt = send(w3, account, {k: v for k, v in tx.items() if k in ("from", "to", "data")})
            blocks.append(receipt["blockNumber"])
        answer = {"blocks": blocks}
    elif op == "call":
        abi, _ = compiled("KilnNFT.vy")
        contract = w3.eth.contract(address=Web3.to_checksum_address(request["contract"]), abi=abi)
        results = []
        for call in request["calls"]:
            result = getattr(contract.functions, call["fn"])(*call.get("args", [])).call()
            results.append(result.lower() if isinstance(result, str) else result)
        answer = {"results": results}
    elif op == "rpc":
        response = w3.provider.make_request(request["method"], request.get("params", []))
        if "error" in response:
            raise SystemExit(f"{request['method']}: {response['error']}")
        answer = {"result": response["result"]}
    else:
        raise SystemExit(f"unknown op {op}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
