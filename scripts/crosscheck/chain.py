#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Drives scripts/dev/devchain.py for Kiln's chain tests, independently of Kiln: compiles the Vyper contracts with
`vyper`, signs transactions with eth-account and sends them over JSON-RPC with web3.

Reads one JSON request on stdin, prints one JSON answer:
  {"op": "deploy", "url", "keyFile", "name"?, "args"?}    → {"address", "block"}  (from key 0; "name": KilnNFT
                                                          (default; publisher key 1), StakeRegistry or
                                                          InfernetConsumer; "args": constructor arguments)
  {"op": "transact", "url", "keyFile", "contract", "name"?, "calls": [{"fn", "args", "from": key index}]}
                                                          ({"account": N} in args is key N's address)
                                                          → {"blocks": [block of each call]}
  {"op": "call", "url", "contract", "name"?, "calls": [{"fn", "args", "block"?}]}  → {"results"}  (views; a
                                                          revert is {"revert": data, "error": the registry error
                                                          its selector names, or null})
  {"op": "isValidSignature", "url", "contract", "digest", "cases": [{"operators", "signatures", "block"}]}
                                                          → {"results": [{"result"} or {"revert", "error"}]}
                                                          (the registry's check of payloads encoded here)
  {"op": "interfaceId", "functions": [signatures]}        → {"id"}  (ERC-165: XOR of their selectors)
  {"op": "rpc", "url", "method", "params"}                → {"result"}
  {"op": "fund", "url", "keyFile", "to", "wei"}           → {"block"}  (sends `wei` from key 0 to `to`)
"""
import json
import os
import subprocess
import sys

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# EigenLayer's IECDSAStakeRegistryErrors, by selector (keccak-256 of the signature, computed here).
REGISTRY_ERRORS = {
    "0x" + keccak(text=signature)[:4].hex(): signature
    for signature in [
        "LengthMismatch()", "InvalidLength()", "NotSorted()", "InvalidSignature()", "InvalidReferenceBlock()",
        "InvalidSignedWeight()", "InsufficientSignedStake()",
    ]
}


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


def argument(accounts, value):
    """{"account": N} is key N's address; a 0x string of 40 hex digits an address, of other lengths bytes."""
    if isinstance(value, dict):
        return accounts[value["account"]].address
    if isinstance(value, str) and value.startswith("0x"):
        return Web3.to_checksum_address(value) if len(value) == 42 else bytes.fromhex(value[2:])
    return value


def main():
    request = json.load(sys.stdin)
    w3 = Web3(Web3.HTTPProvider(request["url"]))
    op = request["op"]
    if op == "deploy":
        accounts = keys(request["keyFile"])
        name = request.get("name", "KilnNFT")
        abi, bytecode = compiled(name + ".vy")
        contract = w3.eth.contract(abi=abi, bytecode=bytecode)
        if "args" in request:
            arguments = [argument(accounts, a) for a in request["args"]]
        else:
            arguments = [accounts[1].address] if name == "KilnNFT" else []
        tx = contract.constructor(*arguments).build_transaction({"from": accounts[0].address, "gas": 8_000_000})
        receipt = send(w3, accounts[0], {k: v for k, v in tx.items() if k in ("from", "data")})
        answer = {"address": receipt["contractAddress"].lower(), "block": receipt["blockNumber"]}
    elif op == "transact":
        accounts = keys(request["keyFile"])
        abi, _ = compiled(request.get("name", "KilnNFT") + ".vy")
        contract = w3.eth.contract(address=Web3.to_checksum_address(request["contract"]), abi=abi)
        blocks = []
        for call in request["calls"]:
            account = accounts[call.get("from", 0)]
            args = [argument(accounts, a) for a in call["args"]]
            tx = getattr(contract.functions, call["fn"])(*args).build_transaction({"from": account.address, "gas": 500_000})
            receipt = send(w3, account, {k: v for k, v in tx.items() if k in ("from", "to", "data")})
            blocks.append(receipt["blockNumber"])
        answer = {"blocks": blocks}
    elif op == "call":
        abi, _ = compiled(request.get("name", "KilnNFT") + ".vy")
        contract = w3.eth.contract(address=Web3.to_checksum_address(request["contract"]), abi=abi)
        results = []
        for call in request["calls"]:
            args = [bytes.fromhex(a[2:]) if isinstance(a, str) and a.startswith("0x") and len(a) != 42 else a for a in call.get("args", [])]
            try:
                result = getattr(contract.functions, call["fn"])(*args).call(block_identifier=call.get("block", "latest"))
            except ContractLogicError as error:
                # A revert: its data, and the custom error it names, read with this script's own table.
                raw = error.data if isinstance(error.data, str) else "0x"
                results.append({"revert": raw.lower(), "error": REGISTRY_ERRORS.get(raw[:10].lower())})
                continue
            if isinstance(result, bytes):
                result = "0x" + result.hex()
            results.append(result.lower() if isinstance(result, str) else result)
        answer = {"results": results}
    elif op == "isValidSignature":
        # The registry's ERC-1271 check of payloads this script encodes itself: data = abi.encode(address[],
        # bytes[], uint32), as EigenLayer's ECDSAStakeRegistry decodes it.
        abi, _ = compiled("StakeRegistry.vy")
        contract = w3.eth.contract(address=Web3.to_checksum_address(request["contract"]), abi=abi)
        digest = bytes.fromhex(request["digest"][2:])
        results = []
        for case in request["cases"]:
            data = abi_encode(
                ["address[]", "bytes[]", "uint32"],
                [
                    [Web3.to_checksum_address(a) for a in case["operators"]],
                    [bytes.fromhex(s[2:]) for s in case["signatures"]],
                    case["block"],
                ],
            )
            try:
                results.append({"result": "0x" + contract.functions.isValidSignature(digest, data).call().hex()})
            except ContractLogicError as error:
                raw = error.data if isinstance(error.data, str) else "0x"
                results.append({"revert": raw.lower(), "error": REGISTRY_ERRORS.get(raw[:10].lower())})
        answer = {"results": results}
    elif op == "interfaceId":
        # ERC-165: the XOR of the functions' selectors, computed here.
        value = 0
        for signature in request["functions"]:
            value ^= int.from_bytes(keccak(text=signature)[:4], "big")
        answer = {"id": "0x" + value.to_bytes(4, "big").hex()}
    elif op == "fund":
        accounts = keys(request["keyFile"])
        receipt = send(w3, accounts[0], {"to": Web3.to_checksum_address(request["to"]), "value": int(request["wei"])})
        answer = {"block": receipt["blockNumber"]}
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
