#!/usr/bin/env python3
"""Writes N tokens' worth of Forge Knights chain logs for the batch benchmark: a mint (Transfer from 0) and a
LevelUp per token, 100 logs per block, as eth_getLogs objects one per line. Deterministic.

    .venv/bin/python scripts/bench/batch_events.py 1000 events.jsonl
"""
import json
import sys

from eth_hash.auto import keccak

CONTRACT = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
TRANSFER = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
LEVEL_UP = "0x" + keccak(b"LevelUp(uint256,uint256)").hex()


def word(value):
    return "0x" + value.to_bytes(32, "big").hex()


def main():
    count, path = int(sys.argv[1]), sys.argv[2]
    events = []
    for token in range(1, count + 1):
        owner = keccak(f"kiln bench owner {token % 97}".encode())[-20:]
        events.append(([TRANSFER, word(0), "0x" + "00" * 12 + owner.hex(), word(token)], "0x"))
    for token in range(1, count + 1):
        events.append(([LEVEL_UP, word(token)], word(1 + token % 15)))
    with open(path + ".tmp", "w") as out:
        for start in range(0, len(events), 100):
            block = 1000 + start // 100
            block_hash = "0x" + keccak(f"kiln bench block {block}".encode()).hex()
            for index, (topics, data) in enumerate(events[start:start + 100]):
                out.write(json.dumps({
                    "address": CONTRACT, "topics": topics, "data": data, "blockNumber": hex(block), "blockHash": block_hash,
                    "transactionHash": "0x" + keccak(f"kiln bench tx {block} {index}".encode()).hex(),
                    "transactionIndex": hex(index), "logIndex": hex(index), "removed": False,
                }, separators=(",", ":")) + "\n")
    import os
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
