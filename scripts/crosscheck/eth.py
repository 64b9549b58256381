#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Independent Ethereum implementations for Kiln's cross-check tests.

Reads one JSON request {"op": ..., ...} on stdin and prints one JSON answer. Used only by tests, never by Kiln.
Libraries: eth-hash (pycryptodome), eth-account, eth-abi, eth-utils.
"""
import json
import sys

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct, encode_typed_data
from eth_hash.auto import keccak
from eth_utils import to_checksum_address


def h(b: bytes) -> str:
    return "0x" + b.hex()


def unhex(s: str) -> bytes:
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def typed_data(item):
    """InferenceAttestation, or InferenceAgreement when the message has a canonicalOutputHash."""
    m = item["message"]
    if "canonicalOutputHash" in m:
        primary = "InferenceAgreement"
        members = ["jobId", "modelId", "inputHash", "canonicalOutputHash", "policyHash"]
    else:
        primary = "InferenceAttestation"
        members = ["jobId", "modelId", "inputHash", "outputHash"]
    message = {name: unhex(m[name]) for name in members}
    message["referenceBlock"] = int(m["referenceBlock"])
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [{"name": name, "type": "bytes32"} for name in members]
            + [{"name": "referenceBlock", "type": "uint64"}],
        },
        "primaryType": primary,
        "domain": {
            "name": "Kiln",
            "version": "1",
            "chainId": int(item["chainId"]),
            "verifyingContract": to_checksum_address(item["verifyingContract"]),
        },
        "message": message,
    }


def abi_value(t: str, v):
    if t.startswith("uint") or t.startswith("int"):
        return int(v)
    if t == "address":
        return to_checksum_address(v)
    if t == "bool":
        return bool(v)
    if t == "string":
        return v
    return unhex(v)  # bytes, bytesN


def op_keccak(req):
    return [h(keccak(unhex(x))) for x in req["inputs"]]


def op_checksum(req):
    return [to_checksum_address(a) for a in req["addresses"]]


def op_sign(req):
    out = []
    for item in req["items"]:
        acct = Account.from_key(unhex(item["key"]))
        sig = Account.unsafe_sign_hash(unhex(item["digest"]), acct.key)
        out.append({"address": acct.address, "signature": h(sig.signature)})
    return out


def op_recover(req):
    return [Account._recover_hash(unhex(i["digest"]), signature=unhex(i["signature"])) for i in req["items"]]


def op_eip712(req):
    out = []
    for item in req["items"]:
        signable = encode_typed_data(full_message=typed_data(item))
        digest = _hash_eip191_message(signable)
        signed = Account.sign_message(signable, unhex(item["key"]))
        out.append({
            "domainSeparator": h(signable.header),
            "structHash": h(signable.body),
            "digest": h(digest),
            "signature": h(signed.signature),
        })
    return out


def op_recover712(req):
    """Recovers the signer of InferenceAttestation or InferenceAgreement typed data (what a Kiln node returns)."""
    out = []
    for item in req["items"]:
        signable = encode_typed_data(full_message=typed_data(item))
        out.append(Account.recover_message(signable, signature=unhex(item["signature"])))
    return out


def op_personal(req):
    out = []
    for item in req["items"]:
        signable = encode_defunct(primitive=unhex(item["message"]))
        signed = Account.sign_message(signable, unhex(item["key"]))
        out.append({"digest": h(_hash_eip191_message(signable)), "signature": h(signed.signature)})
    return out


def op_abi_log(req):
    """Encodes an event log with eth-abi: indexed values as topics, the rest as data."""
    out = []
    for item in req["items"]:
        params = item["params"]
        topics = [item["topic0"]]
        data_types, data_values = [], []
        for p in params:
            v = abi_value(p["type"], p["value"])
            if p["indexed"]:
                if p["type"] == "string":
                    topics.append(h(keccak(v.encode("utf-8"))))
                elif p["type"] == "bytes":
                    topics.append(h(keccak(v)))
                else:
                    topics.append(h(abi_encode([p["type"]], [v])))
            else:
                data_types.append(p["type"])
                data_values.append(v)
        out.append({"topics": topics, "data": h(abi_encode(data_types, data_values))})
    return out


def abi_nested(t: str, v):
    if t.endswith("[]"):
        return [abi_nested(t[:-2], x) for x in v]
    return abi_value(t, v)


def op_abi_encode(req):
    """abi.encode of {"types": [...], "values": [...]} (arrays as T[]), with eth-abi."""
    return [h(abi_encode(i["types"], [abi_nested(t, v) for t, v in zip(i["types"], i["values"])])) for i in req["items"]]


def op_sign_1559(req):
    """Signs EIP-1559 transactions with eth-account: the raw transaction and its hash."""
    out = []
    for item in req["items"]:
        tx = {
            "type": 2,
            "chainId": int(item["chainId"]),
            "nonce": int(item["nonce"]),
            "maxPriorityFeePerGas": int(item["maxPriorityFeePerGas"]),
            "maxFeePerGas": int(item["maxFeePerGas"]),
            "gas": int(item["gas"]),
            "to": to_checksum_address(item["to"]),
            "value": int(item["value"]),
            "data": unhex(item["data"]),
            "accessList": [],
        }
        signed = Account.sign_transaction(tx, unhex(item["key"]))
        out.append({"raw": h(signed.raw_transaction), "hash": h(signed.hash)})
    return out


def op_json(req):
    return [json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for v in req["values"]]


OPS = {
    "keccak": op_keccak,
    "checksum": op_checksum,
    "sign": op_sign,
    "recover": op_recover,
    "eip712": op_eip712,
    "personal": op_personal,
    "recover712": op_recover712,
    "abi_log": op_abi_log,
    "json": op_json,
    "abi_encode": op_abi_encode,
    "sign_1559": op_sign_1559,
}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump({"result": OPS[request["op"]](request)}, sys.stdout)
