#!/usr/bin/env python3
"""A STAND-IN for kubo's RPC API (the part Kiln pushes to), for Kiln's test bench only.

kubo ships as a Go binary and a Docker image that cannot be installed here. This follows kubo's RPC reference for
`POST /api/v0/dag/import` (multipart field `file`, a CAR; `pin-roots`, `stats`): the answer is NDJSON, one
`{"Root": {"Cid": {"/": CID}, "PinErrorMsg": ""}}` per root, then `{"Stats": {"BlockCount", "BlockBytesCount"}}`
when asked; errors are kubo's `{"Message", "Code", "Type": "error"}` with status 500; every RPC is POST-only (405
otherwise). `POST /api/v0/pin/ls?arg=CID` says whether a CID is pinned.

It checks what it receives with its own code (scripts/standins/ipfs_car.py: dag-cbor + multiformats): a block that does not
match its CID refuses the whole import; a root whose DAG is incomplete is not pinned (PinErrorMsg says why).
With --bearer or --basic (user:password) it refuses other requests with 403, as kubo's API.Authorizations does.
Prints its URL on the first line of stdout, then serves until killed.

Test-bench fault (not in kubo): `--fail-first N` answers the first N imports with HTTP 500.
"""
import argparse
import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipfs_car import missing, read_car, text  # noqa: E402

lock = threading.Lock()
blocks, pins = {}, set()
state = {"imports": 0}


def multipart_file(body, content_type):
    """The bytes of the first part named `file` of a multipart/form-data body."""
    params = dict(p.strip().split("=", 1) for p in content_type.split(";")[1:] if "=" in p)
    boundary = params.get("boundary", "").strip('"')
    if not content_type.startswith("multipart/form-data") or not boundary:
        raise ValueError("the request is not multipart/form-data with a boundary")
    delimiter = b"--" + boundary.encode()
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return data[:-2] if data.endswith(b"\r\n") else data
    raise ValueError("no multipart field named 'file'")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    auth = None
    fail_first = 0

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message):
        self.send(status, json.dumps({"Message": message, "Code": 0, "Type": "error"}))

    def do_GET(self):
        self.error(405, "405 - Method Not Allowed: kubo's RPC takes POST")

    def do_POST(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.auth and self.headers.get("Authorization") != self.auth:
            self.send(403, "403 - Forbidden\n", "text/plain")
            return
        if url.path == "/api/v0/dag/import":
            with lock:
                state["imports"] += 1
                if state["imports"] <= self.fail_first:
                    self.error(500, "stand-in fault: --fail-first")
                    return
            try:
                roots, received = read_car(multipart_file(body, self.headers.get("Content-Type", "")))
            except Exception as error:  # a bad block or a malformed CAR refuses the import, as kubo does
                self.error(500, f"dag import: {error}")
                return
            lines = []
            with lock:
                blocks.update(received)
                for root in roots:
                    lack = missing(root, blocks)
                    pin = query.get("pin-roots", ["true"])[0] != "false"
                    if pin and lack is None:
                        pins.add(text(root))
                    error = "" if lack is None or not pin else f"block was not found locally (offline): {lack}"
                    lines.append({"Root": {"Cid": {"/": text(root)}, "PinErrorMsg": error}})
            if query.get("stats", ["false"])[0] == "true":
                lines.append({"Stats": {"BlockCount": len(received),
                                        "BlockBytesCount": sum(len(b) for b in received.values())}})
            self.send(200, "".join(json.dumps(line) + "\n" for line in lines), "application/json")
        elif url.path == "/api/v0/pin/ls":
            wanted = query.get("arg", [])
            with lock:
                known = {cid: {"Type": "recursive"} for cid in pins if not wanted or cid in wanted}
            if wanted and not known:
                self.error(500, f"path '{wanted[0]}' is not pinned")
                return
            self.send(200, json.dumps({"Keys": known}))
        else:
            self.error(404, f"404 page not found: {url.path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bearer", help="require Authorization: Bearer TOKEN")
    parser.add_argument("--basic", help="require HTTP basic auth USER:PASSWORD")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    if args.bearer:
        Handler.auth = "Bearer " + args.bearer
    elif args.basic:
        Handler.auth = "Basic " + base64.b64encode(args.basic.encode()).decode()
    Handler.fail_first = args.fail_first
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


main()
