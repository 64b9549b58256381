#!/usr/bin/env python3
"""A STAND-IN for a pinning service (the IPFS Pinning Service API, v1.0.0), for Kiln's test bench only.

Pinning services (Pinata, Filebase, …) are remote: none can run here. This follows the Pinning Service API spec:
`POST /pins` with a Pin `{cid, name, origins, meta}` → 202 and a PinStatus `{requestid, status, created, pin,
delegates, info}`; `GET /pins/{requestid}` → 200 PinStatus or 404; `GET /pins` → `{count, results}`; every request
needs `Authorization: Bearer TOKEN` (401 otherwise); errors are `{"error": {"reason", "details"}}`.

Like a real provider it fetches what it is asked to pin from the `origins` (multiaddrs such as
/ip4/127.0.0.1/tcp/8080/http, read as the URL of a trustless gateway): `GET /ipfs/{cid}?format=car`, every block
checked against its CID and the DAG checked complete with its own code (scripts/standins/ipfs_car.py), and answers
`pinned` only then; a fetch that fails or does not verify ends as `failed`.
Prints its URL on the first line of stdout, then serves until killed.

Test-bench faults (not in the spec): `--rate-limit N` answers the first N requests 429 (Retry-After: 1);
`--fail-first N` answers the first N requests 500; `--stay-queued` never starts pinning; `--answer-failed` ends
every pin as failed.
"""
import argparse
import datetime
import json
import os
import sys
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ipfs_car import missing, read_car, text  # noqa: E402
from multiformats import CID  # noqa: E402

lock = threading.Lock()
pins = {}
state = {"requests": 0}
options = argparse.Namespace()


def gateway(multiaddr):
    """/ip4/A/tcp/P/http → http://A:P (also /dns/NAME, /ip6/ADDR, https)."""
    parts = multiaddr.strip("/").split("/")
    if len(parts) != 5 or parts[0] not in ("ip4", "ip6", "dns", "dns4", "dns6") or parts[2] != "tcp" \
            or parts[4] not in ("http", "https"):
        return None
    host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
    return f"{parts[4]}://{host}:{parts[3]}"


def fetch_and_verify(requestid):
    with lock:
        record = pins[requestid]
        record["status"] = "pinning"
        if options.answer_failed:
            # A service that fails a pin for reasons of its own (quota, policy) need not fetch it first; fetching
            # a whole batch from a debug `kiln serve` on a loaded machine outlasted the test's pinWait.
            record["status"] = "failed"
            record["info"] = {"error": "stand-in fault: --answer-failed"}
            return
    cid = record["pin"]["cid"]
    error = "no usable origin"
    for origin in record["pin"].get("origins", []):
        url = gateway(origin)
        if not url:
            continue
        try:
            request = urllib.request.Request(f"{url}/ipfs/{cid}?format=car",
                                             headers={"Accept": "application/vnd.ipld.car"})
            data = urllib.request.urlopen(request, timeout=60).read()
            roots, blocks = read_car(data)
            lack = missing(CID.decode(cid), blocks)
            if lack:
                error = f"{url}: the CAR lacks block {lack}"
                continue
            error = None
            break
        except Exception as failure:
            error = f"{url}: {failure}"
    with lock:
        if error or options.answer_failed:
            record["status"] = "failed"
            record["info"] = {"error": error or "stand-in fault: --answer-failed"}
        else:
            record["status"] = "pinned"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, value, headers=()):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, content in headers:
            self.send_header(name, content)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, reason, details, headers=()):
        self.send(status, {"error": {"reason": reason, "details": details}}, headers)

    def gate(self):
        """Faults, then the bearer token; True when the request may go on."""
        with lock:
            state["requests"] += 1
            count = state["requests"]
        if count <= options.rate_limit:
            self.error(429, "RATE_LIMIT", "stand-in fault: --rate-limit", [("Retry-After", "1")])
            return False
        if count <= options.rate_limit + options.fail_first:
            self.error(500, "INTERNAL_SERVER_ERROR", "stand-in fault: --fail-first")
            return False
        if self.headers.get("Authorization") != f"Bearer {options.token}":
            self.error(401, "UNAUTHORIZED", "Access token is missing or invalid")
            return False
        return True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.gate():
            return
        if urlsplit(self.path).path != "/pins":
            self.error(404, "NOT_FOUND", self.path)
            return
        try:
            pin = json.loads(body)
            CID.decode(pin["cid"])
            if not isinstance(pin.get("origins", []), list) or not isinstance(pin.get("meta", {}), dict):
                raise ValueError("origins must be a list and meta an object")
            if any(not isinstance(v, str) for v in pin.get("meta", {}).values()):
                raise ValueError("meta values must be strings")
        except Exception as failure:
            self.error(400, "BAD_REQUEST", f"not a valid Pin: {failure}")
            return
        requestid = str(uuid.uuid4())
        record = {"requestid": requestid, "status": "queued",
                  "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "pin": pin, "delegates": ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWStandinStandinStandinStandinStandin1"],
                  "info": {}}
        with lock:
            pins[requestid] = record
            answer = json.loads(json.dumps(record))
        if not options.stay_queued:
            threading.Thread(target=fetch_and_verify, args=(requestid,), daemon=True).start()
        self.send(202, answer)

    def do_GET(self):
        if not self.gate():
            return
        path = urlsplit(self.path).path
        with lock:
            if path == "/pins":
                results = list(pins.values())
                self.send(200, {"count": len(results), "results": results})
            elif path.startswith("/pins/") and path[6:] in pins:
                self.send(200, pins[path[6:]])
            else:
                self.error(404, "NOT_FOUND", f"no pin request {path[6:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True, help="the bearer token clients must send")
    parser.add_argument("--rate-limit", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--stay-queued", action="store_true")
    parser.add_argument("--answer-failed", action="store_true")
    parser.parse_args(namespace=options)
    server = ThreadingHTTPServer((options.host, options.port), Handler)
    print(f"http://{options.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


main()
