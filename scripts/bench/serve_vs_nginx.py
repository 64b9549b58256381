#!/usr/bin/env python3
"""`kiln serve` side by side with Debian's nginx serving the same bytes from a folder, under `wrk` (64 connections):
a token's metadata (`/tokens/{chainId}/{contract}/{id}`), an image (`/ipfs/{cid}`), a raw block (`?format=raw`), a
304 revalidation (`If-None-Match` with each server's own ETag for that metadata), and each server's floor: a 404 for a
path neither has (its HTTP stack alone).

    .venv/bin/python scripts/bench/serve_vs_nginx.py SITE [--kiln PATH] [--seconds 10] [--runs 1]

SITE is a kiln.yml folder with published tokens (`scale_store.py`'s WORK/site, or any). The bytes nginx serves are
fetched from `kiln serve` first and compared after, so both answer with the same bodies. Prints a Markdown table.

With --runs N each row is measured N times, the two servers in turn, and the table gives the medians with the range
of the ratio over the runs: on a small shared machine nginx's own rate moves by a fifth from run to run. The CPU
columns are each server's user + system time per answer (nginx: its master and workers), from /proc — steadier than
the rates, since they do not depend on how much of the machine `wrk` and the other server left.
"""
import argparse
import json
import os
import statistics
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_bench import CONTRACT, ROOT, wrk  # noqa: E402

NGINX_CONF = """
worker_processes auto;
daemon off;
error_log {folder}/error.log;
pid {folder}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {folder}/tmp; proxy_temp_path {folder}/tmp; fastcgi_temp_path {folder}/tmp;
    uwsgi_temp_path {folder}/tmp; scgi_temp_path {folder}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {folder}/www;
        location /tokens/ {{ default_type application/json; }}
        location /ipfs/ {{
            if ($arg_format = raw) {{ rewrite ^/ipfs/(.*)$ /raw/$1 last; }}
            default_type image/png;
        }}
        location /raw/ {{ internal; default_type application/vnd.ipld.raw; }}
    }}
}}
"""


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        return response.read(), dict(response.headers)


def wait(url):
    for _ in range(200):
        try:
            return fetch(url)
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{url} did not answer")


def cpu_seconds(pids):
    """User + system seconds of the processes `pids`, and of their children (nginx's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) in pids or int(fields[1]) in pids:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(url, seconds, headers, pids):
    """`wrk` at 64 connections, with the server's CPU time per answer in µs."""
    before = cpu_seconds(pids)
    result = wrk(url, seconds, 64, headers)
    result["cpu_us"] = round((cpu_seconds(pids) - before) / max(result["requests"], 1) * 1e6, 1)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site")
    parser.add_argument("--kiln", default=os.path.join(ROOT, ".build/release/kiln"), type=os.path.abspath)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--token", default="3")
    parser.add_argument("--kiln-port", type=int, default=18490)
    parser.add_argument("--nginx-port", type=int, default=18491)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="kiln-vs-nginx-")
    os.chmod(folder, 0o755)  # nginx's workers (user nobody when started as root) read the files
    kiln_base, nginx_base = f"http://127.0.0.1:{args.kiln_port}", f"http://127.0.0.1:{args.nginx_port}"
    server = subprocess.Popen([args.kiln, "serve", "--port", str(args.kiln_port)], cwd=os.path.abspath(args.site),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = None
    try:
        wait(kiln_base + "/health")
        metadata_path = f"/tokens/31337/{CONTRACT}/{args.token}"
        metadata, _ = fetch(kiln_base + metadata_path)
        history, _ = fetch(kiln_base + metadata_path + "/history")
        latest = json.loads(history)["versions"][0]
        image_cid, raw_cid = latest["image"], latest["metadata"]
        image, _ = fetch(f"{kiln_base}/ipfs/{image_cid}")
        raw, _ = fetch(f"{kiln_base}/ipfs/{raw_cid}?format=raw")
        www = os.path.join(folder, "www")
        for path, body in [(metadata_path, metadata), (f"/ipfs/{image_cid}", image), (f"/raw/{raw_cid}", raw)]:
            os.makedirs(os.path.dirname(www + path), exist_ok=True)
            with open(www + path, "wb") as out:
                out.write(body)
        os.makedirs(os.path.join(folder, "tmp"))
        with open(os.path.join(folder, "nginx.conf"), "w") as out:
            out.write(NGINX_CONF.format(folder=folder, port=args.nginx_port))
        nginx = subprocess.Popen(["/usr/sbin/nginx", "-c", os.path.join(folder, "nginx.conf"), "-e",
                                  os.path.join(folder, "error.log")], stdout=subprocess.DEVNULL)
        wait(nginx_base + metadata_path)
        kiln_etag = fetch(kiln_base + metadata_path)[1]["ETag"]
        nginx_etag = fetch(nginx_base + metadata_path)[1]["ETag"]
        for name, base in (("kiln", kiln_base), ("nginx", nginx_base)):  # the same bytes from both
            assert fetch(base + metadata_path)[0] == metadata, name
            assert fetch(f"{base}/ipfs/{image_cid}")[0] == image, name
            assert fetch(f"{base}/ipfs/{raw_cid}?format=raw")[0] == raw, name
        rows = []
        for label, path, kiln_headers, nginx_headers in [
            (f"metadata `/tokens/…/{args.token}` ({len(metadata)} B)", metadata_path, (), ()),
            (f"image `/ipfs/{{cid}}` ({len(image)} B)", f"/ipfs/{image_cid}", (), ()),
            (f"raw block `?format=raw` ({len(raw)} B)", f"/ipfs/{raw_cid}?format=raw", (), ()),
            ("304 revalidation of the metadata", metadata_path, (f"If-None-Match: {kiln_etag}",),
             (f"If-None-Match: {nginx_etag}",)),
            # Each server's floor on this machine: no store, no file — the HTTP stack, router and middleware alone.
            ("floor: a 404 (no such path)", "/no-such-path", (), ()),
        ]:
            runs = []
            for _ in range(args.runs):
                ours = measure(kiln_base + path, args.seconds, kiln_headers, {server.pid})
                theirs = measure(nginx_base + path, args.seconds, nginx_headers, {nginx.pid})
                runs.append((ours, theirs))
                print(json.dumps({"measure": label, "kiln": ours, "nginx": theirs}), file=sys.stderr)
            rows.append((label, runs))
        print("| 64 connections | kiln serve req/s | nginx req/s | ratio | kiln p50 / p99 | nginx p50 / p99 | p99 ratio "
              "| CPU per answer, kiln / nginx |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, runs in rows:
            def median(side, key):
                return statistics.median(run[side][key] for run in runs)
            ratios = [ours["rps"] / theirs["rps"] for ours, theirs in runs]
            ratio = f"{statistics.median(ratios):.2f}×"
            if len(runs) > 1:
                ratio += f" ({min(ratios):.2f}–{max(ratios):.2f})"
            print(f"| {label} | {median(0, 'rps'):.0f} | {median(1, 'rps'):.0f} | {ratio} | "
                  f"{median(0, 'p50_ms')} / {median(0, 'p99_ms')} ms | {median(1, 'p50_ms')} / {median(1, 'p99_ms')} ms "
                  f"| {median(0, 'p99_ms') / max(median(1, 'p99_ms'), 0.001):.2f}× "
                  f"| {median(0, 'cpu_us')} / {median(1, 'cpu_us')} µs |")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
