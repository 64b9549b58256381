#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""A node's request overhead (HTTP, JSON, base64, hashing, signing) against its model time, in CPU seconds.

1. Starts `kiln node serve` (release build) with a fresh key on a free loopback port and sends it N jobs of
   `kiln/cppn-v1` at SIZE² one after another over one keep-alive connection; the node's CPU time per job comes
   from /proc (user + system).
2. Runs the same N inputs through `kiln model run` (the model alone, the same code the node calls), and N inputs
   of 1×1 to take off what a process start costs; the difference of the medians is the model's CPU per job.
3. Prints both and the overhead: (node − model) / node.

Run from the package root:  .venv/bin/python scripts/bench/node_overhead.py [N] [SIZE]
"""
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KILN = os.path.join(ROOT, ".build", "release", "kiln")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 160
    subprocess.run(["swift", "build", "-c", "release", "--product", "kiln"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    folder = tempfile.mkdtemp(prefix="kiln-node-overhead-")
    key = os.path.join(folder, "operator.key")
    subprocess.run([KILN, "key", "new", "-o", key], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    node = subprocess.Popen([KILN, "node", "serve", "--key", key, "--port", str(port), "--max-concurrent", "1",
                             "--rate-limit", "100000", "--rate-burst", "100000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def job(index):
            body = json.dumps({"jobId": "0x" + f"{index:064x}", "modelId": "kiln/cppn-v1", "referenceBlock": 1,
                               "input": {"seed": index, "level": 9, "width": size, "height": size}})
            connection.request("POST", "/v1/jobs", body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            data = answer.read()
            assert answer.status == 200, (answer.status, data[:200])
            return len(data)

        for index in range(3):  # warm-up
            job(1_000_000 + index)
        before, start = cpu_of(node.pid), time.monotonic()
        answer_bytes = sum(job(index) for index in range(n))
        node_cpu, wall = (cpu_of(node.pid) - before) / n, (time.monotonic() - start) / n
    finally:
        node.kill()
        node.wait()

    def model_cpu(width, count):
        # The median of the runs' CPU: a process's start varies by milliseconds (the mean of 60 runs moved the
        # result by ±3 ms between runs of this script; the median holds still).
        runs = []
        for index in range(count):
            before = children_cpu()
            subprocess.run([KILN, "model", "run", "kiln/cppn-v1", "--input",
                            json.dumps({"seed": index, "level": 9, "width": width, "height": width}),
                            "-o", os.path.join(folder, "out.png")], check=True, stdout=subprocess.DEVNULL)
            runs.append(children_cpu() - before)
        return statistics.median(runs)

    model = model_cpu(size, n) - model_cpu(1, n)
    print(f"{n} jobs of kiln/cppn-v1 {size}² (answers of {answer_bytes // n:,} bytes), one at a time:")
    print(f"  node: {node_cpu * 1000:.1f} ms CPU per job ({wall * 1000:.1f} ms wall)")
    print(f"  model alone: {model * 1000:.1f} ms CPU per job (kiln model run, median, less a 1×1 run's median)")
    print(f"  request overhead: {(node_cpu - model) * 1000:.1f} ms, {(node_cpu - model) / node_cpu * 100:.0f} % of "
          f"the node's CPU per job (target ≤ 10 %)")


if __name__ == "__main__":
    main()
