"""A hostile load against one `kiln node serve` while honest jobs go on (README "Reliability"; NodeLoadTests).

    .venv/bin/python3 scripts/dev/node_load.py URL NODE_PID --seconds 20 [--connections 2000] [--token T]

Written with asyncio and raw sockets (not Kiln's code). At once, for --seconds:
- idle: --connections connections opened from 40 loopback addresses (127.0.1.1…40), each sending nothing (each is
  watched for --request-timeout + 10 s after it connects);
- crowd: 100 connections from one address (127.0.2.5), more than a node allows one address;
- slowloris: 20 connections from 127.0.2.1 sending a request head one byte a second;
- slow body: 10 connections from 127.0.2.2 sending a complete head and then the body one byte a second;
- oversized: 20 POST /v1/jobs from 127.0.2.3 announcing and streaming 8 MiB;
- invalid JSON: POST /v1/jobs with garbage, as fast as answers come, from 127.0.2.4;
- honest: a real job every 0.5 s from 127.0.0.1 (the coordinator's address), each must answer 200.
The node's resident memory (VmRSS, VmHWM from /proc/PID/status) is sampled every 0.25 s.
Prints one JSON object: per kind, the status codes seen (or "closed"/"open"), the most connections held at
once, and the node's peak RSS in MiB."""
import argparse
import asyncio
import collections
import json
import resource
import time
from urllib.parse import urlparse


def status_of(data):
    line = data.split(b"\r\n", 1)[0].split()
    return line[1].decode() if len(line) >= 2 and line[0].startswith(b"HTTP/") else "closed"


async def connect(host, port, source):
    return await asyncio.open_connection(host, port, local_addr=(source, 0))


async def read_answer(reader, timeout):
    """The status of the answer; "closed" (the node closed without answering), "reset" (it closed while we were
    still sending: the answer, if any, is lost with the reset) or "open" (nothing within `timeout`)."""
    try:
        data = await asyncio.wait_for(reader.read(65536), timeout)
    except asyncio.TimeoutError:
        return "open"
    except ConnectionError:
        return "reset"
    return status_of(data)


def request(method, path, host, body=b"", token=None, length=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    head += f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    return head.encode() + body


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("pid", type=int)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--token")
    parser.add_argument("--request-timeout", type=float, default=10, help="the node's --request-timeout")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    url = urlparse(args.url)
    host, port = url.hostname, url.port
    results = collections.defaultdict(collections.Counter)
    held = {"now": 0, "most": 0}
    peak = {"rss": 0, "hwm": 0}
    end = time.monotonic() + args.seconds

    async def sample():
        while time.monotonic() < end + 2:
            try:
                for line in open(f"/proc/{args.pid}/status"):
                    if line.startswith("VmRSS:"):
                        peak["rss"] = max(peak["rss"], int(line.split()[1]) // 1024)
                    if line.startswith("VmHWM:"):
                        peak["hwm"] = max(peak["hwm"], int(line.split()[1]) // 1024)
            except OSError:
                pass
            await asyncio.sleep(0.25)

    async def idle(index, source=None, kind="idle"):
        source = source or f"127.0.1.{index % 40 + 1}"
        try:
            reader, writer = await connect(host, port, source)
        except OSError:
            results[kind]["refused"] += 1
            return
        held["now"] += 1
        held["most"] = max(held["most"], held["now"])
        # The node closes connections over its per-address limit at once, and answers the others 408 after its
        # request timeout; "open" is a connection it neither answered nor closed by then.
        outcome = await read_answer(reader, args.request_timeout + 10)
        held["now"] -= 1
        results[kind][outcome] += 1
        writer.close()

    async def trickle(kind, source, head, data):
        """Sends `head` at once and then `data` a byte a second, until the node answers or closes; records the
        outcome under `kind` and how long the node let it go on."""
        reader, writer = await connect(host, port, source)
        started = time.monotonic()
        writer.write(head)
        for byte in data:
            if time.monotonic() > end or reader.at_eof() or reader._buffer:  # the node answered (408) or closed
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(1)
        results[kind][await read_answer(reader, 2)] += 1
        results["cut_after_seconds"]["max"] = max(results["cut_after_seconds"]["max"], round(time.monotonic() - started))
        writer.close()

    async def slowloris(index):
        await trickle("slowloris", "127.0.2.1", b"", request("POST", "/v1/jobs", host, b"{}"))

    async def slow_body(index):
        body = b'{"jobId": "0x' + b"1" * 64 + b'"}'
        head = request("POST", "/v1/jobs", host, length=len(body), token=args.token)
        await trickle("slow_body", "127.0.2.2", head, body)

    async def oversized(index):
        reader, writer = await connect(host, port, "127.0.2.3")
        size = 8 << 20
        writer.write(request("POST", "/v1/jobs", host, length=size, token=args.token))
        chunk = b"x" * 65536
        try:
            for _ in range(size // len(chunk)):
                if reader.at_eof() or reader._buffer:
                    break
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        results["oversized"][await read_answer(reader, 5)] += 1
        writer.close()

    async def garbage():
        reader, writer = await connect(host, port, "127.0.2.4")
        while time.monotonic() < end:
            try:
                writer.write(request("POST", "/v1/jobs", host, b"{not json", token=args.token))
                await writer.drain()
                data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                results["invalid_json"][status_of(data)] += 1
                length = 0
                for line in data.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                # The node may close (or reset) the connection right after an answer: counted, then reconnected.
                await asyncio.wait_for(reader.readexactly(length), 5)
            except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                results["invalid_json"]["closed"] += 1
                writer.close()
                reader, writer = await connect(host, port, "127.0.2.4")
        writer.close()

    async def honest():
        index = 0
        while time.monotonic() < end:
            index += 1
            job = {"jobId": "0x" + f"{index:064x}", "modelId": "kiln/cppn-v1",
                   "input": {"seed": index, "width": 32, "height": 32}, "referenceBlock": 7}
            started = time.monotonic()
            try:
                reader, writer = await connect(host, port, "127.0.0.1")
                writer.write(request("POST", "/v1/jobs", host, json.dumps(job).encode(), token=args.token))
                await writer.drain()
                data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                results["honest"][status_of(data)] += 1
                writer.close()
            except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError) as error:
                results["honest"][type(error).__name__] += 1
            results["honest_ms"]["max"] = max(results["honest_ms"]["max"], int((time.monotonic() - started) * 1000))
            await asyncio.sleep(0.5)

    tasks = [asyncio.create_task(sample()), asyncio.create_task(honest()), asyncio.create_task(garbage())]
    tasks += [asyncio.create_task(idle(i)) for i in range(args.connections)]
    tasks += [asyncio.create_task(idle(i, "127.0.2.5", "crowd")) for i in range(100)]
    tasks += [asyncio.create_task(slowloris(i)) for i in range(20)]
    tasks += [asyncio.create_task(slow_body(i)) for i in range(10)]
    tasks += [asyncio.create_task(oversized(i)) for i in range(20)]
    await asyncio.gather(*tasks, return_exceptions=False)
    out = {kind: dict(counter) for kind, counter in results.items()}
    out["most_connections_held"] = held["most"]
    out["peak_rss_mib"] = peak["rss"]
    out["peak_hwm_mib"] = peak["hwm"]
    print(json.dumps(out, sort_keys=True))


asyncio.run(main())
