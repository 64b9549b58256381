#!/usr/bin/env python3
"""Kiln's test chain: a real EVM (py-evm through eth-tester) served as JSON-RPC over HTTP on a loopback port.

    .venv/bin/python scripts/dev/devchain.py [--port 0] [--key-file FILE]

Prints one JSON line when ready: {"url": ..., "chainId": ..., "accounts": [...]}. With --key-file it writes the
private keys of the chain's pre-funded accounts (eth-tester's well-known test keys; worthless anywhere else) to
FILE, one per line, mode 0600, so test helpers can sign transactions with eth-account.

Methods: eth_chainId, eth_blockNumber, eth_getBlockByNumber, eth_getBlockByHash, eth_getLogs, eth_call,
eth_getTransactionCount, eth_estimateGas, eth_gasPrice, eth_maxPriorityFeePerGas, eth_feeHistory, eth_getBalance,
eth_getCode, eth_sendRawTransaction, eth_getTransactionReceipt, eth_getTransactionByHash, net_version, and the
test-only evm_mine [count], evm_snapshot and evm_revert [id] (for reorgs). Batches (JSON arrays) are answered
as arrays. Every transaction is mined in its own block as it arrives.
"""
import argparse
import ast
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from eth_abi import encode as abi_encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import BlockNotFound, TransactionFailed

LOCK = threading.Lock()
BACKEND = PyEVMBackend()
TESTER = EthereumTester(BACKEND)
SNAPSHOTS = {}


class RPCError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def quantity(value):
    return value if isinstance(value, str) else hex(value)


def data(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def parse_quantity(value, name):
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RPCError(-32602, f"{name} must be a hex quantity")
    return int(value, 16)


def block_id(value):
    if value in ("latest", "pending", "safe", "finalized", None):
        return "latest"
    if value == "earliest":
        return "earliest"
    return parse_quantity(value, "block")


def format_log(log):
    return {
        "address": log["address"].lower(), "topics": [data(t) for t in log["topics"]], "data": data(log["data"]),
        "blockNumber": quantity(log["block_number"]), "blockHash": data(log["block_hash"]),
        "transactionHash": data(log["transaction_hash"]), "transactionIndex": quantity(log["transaction_index"]),
        "logIndex": quantity(log["log_index"]), "removed": False,
    }


def format_block(block, full):
    out = {
        "number": quantity(block["number"]), "hash": data(block["hash"]), "parentHash": data(block["parent_hash"]),
        "timestamp": quantity(block["timestamp"]), "gasLimit": quantity(block["gas_limit"]),
        "gasUsed": quantity(block["gas_used"]), "miner": block["coinbase"],
        "transactions": block["transactions"] if not full else [format_transaction(TESTER.get_transaction_by_hash(h)) for h in block["transactions"]],
    }
    if block.get("base_fee_per_gas") is not None:
        out["baseFeePerGas"] = quantity(block["base_fee_per_gas"])
    return out


def block_or_null(get, params):
    try:
        block = get()
    except BlockNotFound:
        return None  # as geth answers for a block it does not have
    return format_block(block, bool(params[1]) if len(params) > 1 else False)


def format_transaction(tx):
    out = {"hash": tx["hash"], "from": tx["from"], "to": tx["to"] or None, "nonce": quantity(tx["nonce"]),
           "input": data(tx["data"]), "value": quantity(tx["value"]), "gas": quantity(tx["gas"])}
    if tx.get("block_number") is not None:
        out["blockNumber"] = quantity(tx["block_number"])
        out["blockHash"] = tx["block_hash"]
    return out


def transaction_request(params):
    tx = params[0] if params else {}
    if not isinstance(tx, dict):
        raise RPCError(-32602, "expected a transaction object")
    out = {}
    for key, name in (("from", "from"), ("to", "to")):
        if key in tx:
            out[name] = tx[key]
    if "data" in tx or "input" in tx:
        out["data"] = tx.get("data", tx.get("input"))
    for key in ("value", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"):
        if key in tx:
            out[{"gasPrice": "gas_price", "maxFeePerGas": "max_fee_per_gas", "maxPriorityFeePerGas": "max_priority_fee_per_gas"}.get(key, key)] = parse_quantity(tx[key], key)
    if "from" not in out:
        out["from"] = TESTER.get_accounts()[0]
    if "gas" not in out:
        out["gas"] = 30_000_000
    return out


def get_logs(params):
    query = params[0] if params else {}
    head = TESTER.get_block_by_number("latest")["number"]
    start = block_id(query.get("fromBlock", "latest"))
    end = block_id(query.get("toBlock", "latest"))
    start = head if start == "latest" else 0 if start == "earliest" else start
    end = head if end == "latest" else 0 if end == "earliest" else end
    if "blockHash" in query:
        block = TESTER.get_block_by_hash(query["blockHash"])
        start = end = block["number"]
    addresses = query.get("address")
    if isinstance(addresses, str):
        addresses = [addresses]
    topics = query.get("topics") or []
    logs = []
    for number in range(start, min(end, head) + 1):
        block = TESTER.get_block_by_number(number)
        for tx_hash in block["transactions"]:
            receipt = TESTER.get_transaction_receipt(tx_hash)
            for log in receipt["logs"]:
                if addresses and log["address"].lower() not in [a.lower() for a in addresses]:
                    continue
                if not matches(log["topics"], topics):
                    continue
                logs.append(log)
    if len(logs) > MAX_LOGS:
        raise RPCError(-32005, f"query returned more than {MAX_LOGS} results")
    return [format_log(log) for log in logs]


def matches(log_topics, wanted):
    for index, want in enumerate(wanted):
        if want is None:
            continue
        if index >= len(log_topics):
            return False
        options = want if isinstance(want, list) else [want]
        if data(log_topics[index]).lower() not in [o.lower() for o in options]:
            return False
    return True


def receipt(params):
    try:
        r = TESTER.get_transaction_receipt(params[0])
    except Exception:
        return None
    if r is None or r.get("block_number") is None:
        return None
    return {
        "transactionHash": data(r["transaction_hash"]), "transactionIndex": quantity(r["transaction_index"]),
        "blockNumber": quantity(r["block_number"]), "blockHash": data(r["block_hash"]),
        "from": r.get("from"), "to": r.get("to") or None, "contractAddress": r["contract_address"],
        "gasUsed": quantity(r["gas_used"]), "cumulativeGasUsed": quantity(r["cumulative_gas_used"]),
        "effectiveGasPrice": quantity(r.get("effective_gas_price") or 1),
        "status": quantity(r["status"]), "logs": [format_log(log) for log in r["logs"]], "type": quantity(r.get("type", 2) or 0),
        "logsBloom": "0x" + "00" * 256,
    }


ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)


def reverted(error):
    """A revert as geth answers it (internal/ethapi `newRevertError`): code 3, "execution reverted" (with ": reason"
    for an Error(string)), and the raw revert data, hex, in `data`. eth-tester hands over a custom error's data as
    the repr of its bytes and an Error(string) as its decoded reason; both are turned back into the bytes."""
    text = str(error)
    if text.startswith(("b'", 'b"')):
        raw = ast.literal_eval(text)
        return RPCError(3, "execution reverted", "0x" + raw.hex())
    raw = ERROR_STRING + abi_encode(["string"], [text])
    return RPCError(3, f"execution reverted: {text}", "0x" + raw.hex())


def call(params):
    try:
        return TESTER.call(transaction_request(params), block_id(params[1] if len(params) > 1 else "latest"))
    except TransactionFailed as error:
        raise reverted(error)


def estimate_gas(params):
    try:
        return quantity(TESTER.estimate_gas(transaction_request(params)))
    except TransactionFailed as error:
        raise reverted(error)


def send_raw(params):
    try:
        return TESTER.send_raw_transaction(params[0])
    except TransactionFailed as error:
        raise reverted(error)
    except Exception as error:  # invalid transactions: bad nonce, bad signature, too little gas
        raise RPCError(-32000, str(error))


def snapshot(_):
    snapshot_id = TESTER.take_snapshot()
    key = quantity(len(SNAPSHOTS) + 1)
    SNAPSHOTS[key] = snapshot_id
    return key


def revert(params):
    key = params[0]
    if key not in SNAPSHOTS:
        return False
    TESTER.revert_to_snapshot(SNAPSHOTS[key])
    return True


def mine(params):
    count = parse_quantity(params[0], "count") if params else 1
    TESTER.mine_blocks(count)
    return "0x0"


def fee_history(params):
    return {"oldestBlock": quantity(TESTER.get_block_by_number("latest")["number"]), "baseFeePerGas": [quantity(1_000_000_000)] * 2,
            "gasUsedRatio": [0.0], "reward": [[quantity(1_000_000_000)]]}


METHODS = {
    "eth_chainId": lambda p: quantity(BACKEND.chain.chain_id),
    "net_version": lambda p: str(BACKEND.chain.chain_id),
    "eth_blockNumber": lambda p: quantity(TESTER.get_block_by_number("latest")["number"]),
    "eth_getBlockByNumber": lambda p: block_or_null(lambda: TESTER.get_block_by_number(block_id(p[0])), p),
    "eth_getBlockByHash": lambda p: block_or_null(lambda: TESTER.get_block_by_hash(p[0]), p),
    "eth_getLogs": get_logs,
    "eth_call": call,
    "eth_estimateGas": estimate_gas,
    "eth_getTransactionCount": lambda p: quantity(TESTER.get_nonce(p[0], block_id(p[1] if len(p) > 1 else "latest"))),
    "eth_getBalance": lambda p: quantity(TESTER.get_balance(p[0], block_id(p[1] if len(p) > 1 else "latest"))),
    "eth_getCode": lambda p: TESTER.get_code(p[0], block_id(p[1] if len(p) > 1 else "latest")),
    "eth_gasPrice": lambda p: quantity(2_000_000_000),
    "eth_maxPriorityFeePerGas": lambda p: quantity(1_000_000_000),
    "eth_feeHistory": fee_history,
    "eth_sendRawTransaction": send_raw,
    "eth_getTransactionReceipt": receipt,
    "eth_getTransactionByHash": lambda p: format_transaction(TESTER.get_transaction_by_hash(p[0])),
    "evm_mine": mine,
    "evm_snapshot": snapshot,
    "evm_revert": revert,
}
MAX_LOGS = 10_000


def answer(request):
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "method" not in request:
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
    method, params, rid = request["method"], request.get("params") or [], request.get("id")
    handler = METHODS.get(method)
    if handler is None:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method {method} not found"}}
    try:
        with LOCK:
            return {"jsonrpc": "2.0", "id": rid, "result": handler(params)}
    except RPCError as error:
        body = {"code": error.code, "message": error.message}
        if error.data is not None:
            body["data"] = error.data
        return {"jsonrpc": "2.0", "id": rid, "error": body}
    except Exception as error:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": f"{type(error).__name__}: {error}"}}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length))
            response = [answer(r) for r in request] if isinstance(request, list) else answer(request)
        except json.JSONDecodeError:
            response = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
        body = json.dumps(response).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key-file")
    args = parser.parse_args()
    if args.key_file:
        fd = os.open(args.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            for key in BACKEND.account_keys:
                out.write(key.to_hex() + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(json.dumps({"url": url, "chainId": BACKEND.chain.chain_id, "accounts": TESTER.get_accounts()}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
