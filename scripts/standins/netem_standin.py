#!/usr/bin/env python3
"""A STAND-IN for `tc qdisc add … netem delay D loss P` on one TCP service, for Kiln's fleet test only.

The kernels CI runs on here have no sch_netem (`tc qdisc add … netem` answers "Specified qdisc kind is unknown"),
so the link to one operator node goes through this TCP relay instead. It follows what `net/sched/sch_netem.c`
does to a packet in `netem_enqueue`: with probability `loss` (`loss_event`) the packet is dropped, else it is
queued with `time_to_send = now + latency` and leaves in `time_to_send` order (`tfifo_enqueue`). Above TCP, what a
dropped segment costs is its retransmission: the data arrives one retransmission timeout later, at least
`TCP_RTO_MIN` (200 ms, include/net/tcp.h). So each chunk read from one side is delivered to the other `latency`
later, and with probability `loss` one RTO later still, in order. What it does not do: drop ACKs, reorder, or
shape rates. The relay checks nothing of what it carries (it is a link, not a peer).

    netem_standin.py --listen 10.77.0.24:7070 --to 127.0.0.1:7071 --delay-ms 200 --loss 0.05

Prints one line `{"listening": "HOST:PORT"}` when ready.
"""
import argparse
import asyncio
import json
import random
import sys

RTO_MIN = 0.2  # TCP_RTO_MIN: the shortest retransmission timeout Linux uses


def parse(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


async def pipe(reader, writer, delay, loss, rng):
    """Copies reader to writer, each chunk `delay` later (plus an RTO with probability `loss`), in order."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver())
    last = 0.0
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            due = loop.time() + delay + (RTO_MIN if rng.random() < loss else 0.0)
            last = max(last, due)  # in order: a chunk never overtakes the one before it (tfifo)
            await queue.put((last, chunk))
    except (ConnectionError, OSError):
        pass
    await queue.put((last, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--delay-ms", type=float, default=200)
    parser.add_argument("--loss", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    delay, loss = options.delay_ms / 1000, options.loss
    rng = random.Random(options.seed)
    target = parse(options.to)

    async def relay(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, server_writer, delay, loss, rng),
            pipe(server_reader, client_writer, delay, loss, rng),
        )

    host, port = parse(options.listen)
    server = await asyncio.start_server(relay, host, port)
    print(json.dumps({"listening": f"{host}:{port}"}), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
