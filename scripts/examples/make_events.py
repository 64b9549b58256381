#!/usr/bin/env python3
"""Writes the demo's recorded event logs (examples/forge-knights/events-{1,2}.jsonl): eth_getLogs objects, one per
line, for a Forge Knights collection. Deterministic: the same script always writes the same bytes.

    .venv/bin/python scripts/examples/make_events.py
"""
import json
import os

from eth_abi import encode
from eth_hash.auto import keccak

CONTRACT = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
ZERO = "0x" + "00" * 20
OWNERS = ["0x" + keccak(f"kiln demo owner {i}".encode())[-20:].hex() for i in range(6)]
TRANSFER = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
LEVEL_UP = "0x" + keccak(b"LevelUp(uint256,uint256)").hex()


def word(value):
    return "0x" + encode(["uint256"], [value]).hex()


def address_topic(address):
    return "0x" + "00" * 12 + address[2:]


class Chain:
    def __init__(self, start):
        self.block = start
        self.logs = []

    def mine(self, events):
        """One block holding one transaction per event."""
        block_hash = "0x" + keccak(f"kiln demo block {self.block}".encode()).hex()
        for index, (topics, data) in enumerate(events):
            self.logs.append({
                "address": CONTRACT, "topics": topics, "data": data, "blockNumber": hex(self.block), "blockHash": block_hash,
                "transactionHash": "0x" + keccak(f"kiln demo tx {self.block} {index}".encode()).hex(),
                "transactionIndex": hex(index), "logIndex": hex(index), "removed": False,
            })
        self.block += 1


def transfer(source, target, token):
    return ([TRANSFER, address_topic(source), address_topic(target), word(token)], "0x")


def level_up(token, level):
    return ([LEVEL_UP, word(token)], word(level))


def write(path, logs, header):
    with open(path, "w") as out:
        out.write(f"# {header}\n")
        for log in logs:
            out.write(json.dumps(log, separators=(",", ":")) + "\n")


def main():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "forge-knights")
    first = Chain(1000)
    # Mints: 24 knights, four per block.
    for start in range(1, 25, 4):
        first.mine([transfer(ZERO, OWNERS[token % 4], token) for token in range(start, start + 4)])
    # Training: most knights level up, some several times.
    for token in range(1, 25):
        if token % 5 != 0:
            first.mine([level_up(token, 1 + (token * 7) % 12)])
    first.mine([level_up(3, 5), level_up(8, 11)])
    # A sale.
    first.mine([transfer(OWNERS[2], OWNERS[5], 6)])
    write(os.path.join(root, "events-1.jsonl"), first.logs, "Forge Knights, blocks 1000-: 24 mints, level-ups, a sale (scripts/examples/make_events.py)")

    second = Chain(first.block + 10)
    second.mine([level_up(2, 9), level_up(4, 10)])
    second.mine([transfer(OWNERS[1], OWNERS[4], 9), level_up(15, 12)])
    second.mine([transfer(ZERO, OWNERS[3], 25), transfer(ZERO, OWNERS[0], 26)])
    second.mine([level_up(25, 3)])
    second.mine([level_up(7, 2)])  # 7 was already level 2: no new state, no new render
    write(os.path.join(root, "events-2.jsonl"), second.logs, "Forge Knights, the next blocks: level-ups, a sale, two mints")


if __name__ == "__main__":
    main()
