#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""A JSON-RPC server that misbehaves on purpose, for Kiln's client tests. The URL path picks the misbehaviour:
/truncated, /wrong-id, /huge (a 2 MiB answer), /wrong-type, /error, /http-500, /not-json, /bad-log,
/stranger-log, /too-many (eth_getLogs refuses ranges over 10 blocks with -32005, else one log per block),
/ok. Prints its URL, then serves until killed. Counts requests per path: POST /count/<path> answers the count.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTRACT = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
COUNTS = {}


def log(block, address=CONTRACT):
    return {"address": address, "topics": ["0x" + "11" * 32], "data": "0x", "blockNumber": hex(block),
            "blockHash": "0x" + f"{block:064x}", "transactionHash": "0x" + "22" * 32, "transactionIndex": "0x0",
            "logIndex": "0x0", "removed": False}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if self.path.startswith("/count/"):
            count = COUNTS.get(self.path[len("/count"):], 0)
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": count}).encode())
        COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
        rid, method, params = request.get("id"), request.get("method"), request.get("params") or []
        mode = self.path.strip("/")
        result = {"jsonrpc": "2.0", "id": rid, "result": "0x10"}
        if mode == "truncated":
            return self.reply(200, b'{"jsonrpc":"2.0","id":1,"res')
        if mode == "not-json":
            return self.reply(200, b"<html>gateway</html>")
        if mode == "http-500":
            return self.reply(500, b"{}")
        if mode == "wrong-id":
            result["id"] = 7
        elif mode == "huge":
            result["result"] = ["0x" + "ab" * 1000] * 1100
        elif mode == "wrong-type":
            result["result"] = 16
        elif mode == "error":
            result = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "header not found"}}
        elif mode in ("bad-log", "stranger-log", "too-many") and method == "eth_getLogs":
            start, end = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
            if mode == "bad-log":
                broken = log(start)
                broken["topics"] = ["0x1234"]
                result["result"] = [broken]
            elif mode == "stranger-log":
                result["result"] = [log(start, "0x" + "dd" * 20)]
            elif end - start + 1 > 10:
                result = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32005, "message": "query returned more than 10000 results"}}
            else:
                result["result"] = [log(block) for block in range(start, end + 1)]
        self.reply(200, json.dumps(result).encode())

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
