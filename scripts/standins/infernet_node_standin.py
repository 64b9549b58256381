#!/usr/bin/env python3
"""A STAND-IN for Ritual's Infernet node (v1.4.0 REST API), for Kiln's test bench only.

The real node runs from its source (GitHub, not PyPI) with PyPI packages and a Redis server; CI cannot fetch that
source, so the tests run this instead. It follows infernet-node 1.4.0's **code** (each behaviour below names the
function it mirrors; Kiln's summary is docs/reference/infernet.md) for what a REST client and a compute container
see, and was checked by hand against the real node (CHANGELOG, issue 29):

- config.json as `src/shared/config.py` reads it: `server {port, rate_limit {num_requests, period}}`,
  `containers [{id, url, port, bearer, external, allowed_ips, generates_proofs, description, image}]`;
- REST (`RESTServer.register_routes` in `src/server/rest.py`): GET /health, GET /info, GET /resources[?model_id=],
  POST /api/jobs, POST /api/jobs/batch, GET /api/jobs?id=…[&intermediate=true], GET /api/jobs[?pending=true|false],
  POST /api/jobs/stream;
- jobs stored per client IP ("{ip}:{id}", `DataStore` in `src/orchestration/store.py`), pending ones expire after
  15 minutes, unknown ids left out, completed results first; status running|success|failed, result
  {container, output|error};
- the guardian (`Guardian._process_offchain_message`, `src/orchestration/guardian.py`): unknown / disallowed
  container → 405 {"error": "Container not supported", "params"}, no containers, first container not external,
  proof from a container that generates none; an unparsable body → 500 {"error": "Internal server error: …"}
  (`filter_create_job`); per-IP, per-route rate limit → 429 with Retry-After (quart-rate-limiter);
- containers (`Orchestrator._run_job`, `src/orchestration/orchestrator.py`) get POST {base}/service_output
  {source, destination, data, requires_proof} (JobLocation integers), `Authorization: Bearer` when configured
  (`_get_headers`), 180 s timeout; chains pass the previous container's whole JSON (source 1). **Any JSON answer
  makes the job `success`, whatever its HTTP status and whatever it says** — a container's own JSON error
  (Kiln's `{"code": "401", …}`) is the successful job's `output`. A non-JSON content type fails the job with
  aiohttp's message; a JSON content type with a body that does not parse fails it with the body's text.
- Not served: subscription (chain) jobs. There `ChainProcessor._process_subscription` (`src/chain/processor.py`)
  drops a final output whose `code` is not "200"; Kiln's chain tests deliver through the consumer contract on the
  py-evm bench instead.

It checks what containers send back with its own code (the content type, the body's JSON) rather than trusting
Kiln. Prints its URL on the first line of stdout, then serves until killed.

Test-bench fault (not in the real node): `--test-stall CONTAINER` leaves that container's jobs running forever.
"""

import argparse
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

VERSION = "1.4.0"
ONCHAIN, OFFCHAIN, STREAM = 0, 1, 2
PENDING_TTL = 15 * 60
CONTAINER_TIMEOUT = 180


class ContainerFailed(Exception):
    """A container's answer the node fails the job for, with the text it records as the error."""


class Node:
    def __init__(self, config, stall):
        server = config.get("server") or {}
        limit = server.get("rate_limit") or {}
        self.num_requests = int(limit.get("num_requests", 60))
        self.period = float(limit.get("period", 60))
        self.containers = {}
        for entry in config.get("containers") or []:
            if "id" not in entry:
                raise SystemExit("config.json: a container entry lacks 'id'")
            self.containers[entry["id"]] = entry
        self.stall = set(stall)
        self.jobs = {}  # "{ip}:{id}" -> job dict
        self.lock = threading.Lock()
        self.hits = {}  # (ip, route) -> [timestamps]
        self.pool = ThreadPoolExecutor(max_workers=32)

    # -- rate limit (quart-rate-limiter: per remote address and route) --
    def limited(self, ip, route):
        now = time.monotonic()
        with self.lock:
            window = [t for t in self.hits.get((ip, route), []) if now - t < self.period]
            if len(window) >= self.num_requests:
                self.hits[(ip, route)] = window
                return max(1, math.ceil(self.period - (now - window[0])))
            window.append(now)
            self.hits[(ip, route)] = window
            return None

    # -- guardian --
    def guard(self, ip, message):
        containers = message["containers"]
        if not containers:
            return {"error": "No containers specified", "params": {}}
        for cid in containers:
            entry = self.containers.get(cid)
            allowed = (entry or {}).get("allowed_ips") or []
            if entry is None or (allowed and ip not in allowed):
                return {"error": "Container not supported", "params": {"container": cid}}
        if not self.containers[containers[0]].get("external", True):
            return {"error": "First container must be external", "params": {"first_container": containers[0]}}
        if message.get("requires_proof"):
            for cid in containers:
                if not self.containers[cid].get("generates_proofs", False):
                    return {"error": "Container does not generate proof", "params": {"container": cid}}
        return None

    @staticmethod
    def parse_message(item):
        if not isinstance(item, dict):
            raise ValueError("expected a JSON object")
        containers = item.get("containers")
        if not isinstance(containers, list) or not all(isinstance(c, str) for c in containers):
            raise ValueError("'containers' must be a list of strings")
        if not isinstance(item.get("data"), dict):
            raise ValueError("'data' must be an object")
        proof = item.get("requires_proof", False)
        if not isinstance(proof, bool):
            raise ValueError("'requires_proof' must be a boolean")
        return {"containers": containers, "data": item["data"], "requires_proof": proof}

    def expire(self):
        now = time.monotonic()
        with self.lock:
            for key in [k for k, j in self.jobs.items() if j["status"] == "running" and now - j["at"] > PENDING_TTL]:
                del self.jobs[key]

    def create(self, ip, message):
        job_id = str(uuid.uuid4())
        job = {"id": job_id, "status": "running", "result": None, "intermediate": [], "at": time.monotonic()}
        with self.lock:
            self.jobs[f"{ip}:{job_id}"] = job
        if not any(c in self.stall for c in message["containers"]):
            self.pool.submit(self.run, job, message)
        return job_id

    # -- orchestrator --
    def url(self, cid):
        entry = self.containers[cid]
        base = entry.get("url") or f"http://localhost:{entry.get('port', 3000)}"
        return base.rstrip("/") + "/service_output"

    def call(self, cid, body, stream=False):
        entry = self.containers[cid]
        headers = {"Content-Type": "application/json"}
        if entry.get("bearer"):
            headers["Authorization"] = f"Bearer {entry['bearer']}"
        request = urllib.request.Request(self.url(cid), data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            response = urllib.request.urlopen(request, timeout=CONTAINER_TIMEOUT)
        except urllib.error.HTTPError as error:
            response = error  # the node does not look at the status: only at the body
        raw = response.read()
        if stream:
            return raw
        ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            # aiohttp's response.json() refuses any other content type (ContentTypeError: `except Exception`, str(e))
            raise ValueError(
                f"{response.status}, message='Attempt to decode JSON with unexpected mimetype: {ctype}', "
                f"url='{self.url(cid)}'"
            )
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            # `except JSONDecodeError`: the job fails with the response's text as its error
            raise ContainerFailed(raw.decode("utf-8", "replace")) from None

    def run(self, job, message):
        containers = message["containers"]
        proof = message["requires_proof"]
        data = message["data"]
        results = []
        source, destination = OFFCHAIN, OFFCHAIN
        try:
            for index, cid in enumerate(containers):
                body = {"source": source, "destination": destination, "data": data, "requires_proof": proof}
                try:
                    output = self.call(cid, body)
                except Exception as error:  # noqa: BLE001 - the real node records str(e)
                    results.append({"container": cid, "error": str(error)})
                    return self.finish(job, "failed", results)
                results.append({"container": cid, "output": output})
                source, data = OFFCHAIN, output
            # `Orchestrator._run_job` ends with `set_success` for any JSON: it looks at no status and no `code`.
            return self.finish(job, "success", results)
        except Exception as error:  # noqa: BLE001
            results.append({"container": containers[-1], "error": str(error)})
            return self.finish(job, "failed", results)

    def finish(self, job, status, results):
        with self.lock:
            job["result"] = results[-1] if results else None
            job["intermediate"] = results[:-1]
            job["status"] = status

    def result(self, job, intermediate):
        answer = {"id": job["id"], "status": job["status"], "result": job["result"]}
        if intermediate:
            answer["intermediate_results"] = job["intermediate"]
        return answer


class Handler(BaseHTTPRequestHandler):
    node: Node
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, value, headers=None):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, text in (headers or {}).items():
            self.send_header(key, text)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def gate(self, route):
        retry = self.node.limited(self.client_address[0], route)
        if retry is not None:
            self.send(429, {"error": "Too Many Requests"}, {"Retry-After": str(retry)})
            return False
        return True

    def do_GET(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        ip = self.client_address[0]
        node = self.node
        if parts.path == "/health":
            if self.gate("health"):
                self.send(200, {"status": "healthy"})
        elif parts.path == "/info":
            if not self.gate("info"):
                return
            node.expire()
            with node.lock:
                pending = sum(1 for j in node.jobs.values() if j["status"] == "running")
            containers = [
                {
                    "id": c["id"],
                    "description": c.get("description", ""),
                    "external": c.get("external", True),
                    "image": c.get("image", ""),
                }
                for c in node.containers.values()
            ]
            self.send(
                200,
                {
                    "version": VERSION,
                    "containers": containers,
                    "pending": {"offchain": pending, "onchain": 0},
                    "chain": {"enabled": False, "address": ""},
                },
            )
        elif parts.path == "/resources":
            if not self.gate("resources"):
                return
            model = query.get("model_id", [None])[0]
            answer = {}
            for cid, entry in node.containers.items():
                base = (entry.get("url") or f"http://localhost:{entry.get('port', 3000)}").rstrip("/")
                url = base + "/service-resources" + (f"?model_id={model}" if model else "")
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        answer[cid] = json.loads(response.read())
                except Exception:  # noqa: BLE001 - the node skips containers that do not answer
                    continue
            self.send(200, answer)
        elif parts.path == "/api/jobs":
            if not self.gate("get_jobs"):
                return
            node.expire()
            ids = query.get("id")
            with node.lock:
                if ids is None:
                    pending = query.get("pending", [None])[0]
                    mine = [j for k, j in node.jobs.items() if k.startswith(ip + ":")]
                    if pending == "true":
                        mine = [j for j in mine if j["status"] == "running"]
                    elif pending == "false":
                        mine = [j for j in mine if j["status"] != "running"]
                    self.send(200, [j["id"] for j in mine])
                    return
                intermediate = query.get("intermediate", ["false"])[0] == "true"
                found = [node.jobs[f"{ip}:{i}"] for i in ids if f"{ip}:{i}" in node.jobs]
                done = [node.result(j, intermediate) for j in found if j["status"] != "running"]
                running = [node.result(j, intermediate) for j in found if j["status"] == "running"]
            self.send(200, done + running)
        else:
            self.send(404, {"error": "Not Found"})

    def admit(self, route, raw):
        """One job body through the rate limit, the parser and the guardian; None once a refusal was sent."""
        if not self.gate(route):
            return None
        try:
            message = Node.parse_message(json.loads(raw))
        except Exception as error:  # noqa: BLE001 - the real node answers any parse failure like this
            self.send(500, {"error": f"Internal server error: {error}"})
            return None
        refused = self.node.guard(self.client_address[0], message)
        if refused:
            self.send(405, refused)
            return None
        return message

    def do_POST(self):
        path = urlsplit(self.path).path
        ip = self.client_address[0]
        node = self.node
        raw = self.body()
        if path == "/api/jobs":
            message = self.admit("create_job", raw)
            if message is not None:
                self.send(200, {"id": node.create(ip, message)})
        elif path == "/api/jobs/batch":
            if not self.gate("create_job_batch"):
                return
            try:
                items = json.loads(raw)
            except Exception as error:  # noqa: BLE001
                self.send(500, {"error": f"Internal server error: {error}"})
                return
            if not isinstance(items, list):
                self.send(400, {"error": "Expected a list"})
                return
            try:
                messages = [Node.parse_message(item) for item in items]
            except Exception as error:  # noqa: BLE001
                self.send(500, {"error": f"Internal server error: {error}"})
                return
            answers = []
            for message in messages:
                refused = node.guard(ip, message)
                answers.append(refused if refused else {"id": node.create(ip, message)})
            self.send(200, answers)
        elif path == "/api/jobs/stream":
            message = self.admit("create_job_stream", raw)
            if message is None:
                return
            job_id = str(uuid.uuid4())
            cid = message["containers"][0]
            body = {"source": OFFCHAIN, "destination": STREAM, "data": message["data"]}
            try:
                chunk = node.call(cid, body, stream=True)
            except Exception:  # noqa: BLE001
                chunk = b""
            payload = f"{job_id}\n".encode() + chunk
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        else:
            self.send(404, {"error": "Not Found"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the node's config.json")
    parser.add_argument("--port", type=int, help="overrides server.port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--test-stall", action="append", default=[], metavar="CONTAINER")
    args = parser.parse_args()
    with open(args.config) as handle:
        config = json.load(handle)
    port = args.port if args.port is not None else int((config.get("server") or {}).get("port", 4000))
    Handler.node = Node(config, args.test_stall)
    server = ThreadingHTTPServer((args.host, port), Handler)
    server.daemon_threads = True
    print(f"http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
