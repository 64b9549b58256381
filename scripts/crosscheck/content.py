#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""An independent UnixFS importer and CAR tools for Kiln's content-addressing tests.

CIDs and multihashes come from `multiformats`, CAR headers from `dag-cbor`; dag-pb and UnixFS protobuf and
the balanced layout are written here from the specs, separately from Kiln's Swift code.
Reads one JSON request {"op": ..., ...} on stdin, prints one JSON answer.
"""
import json
import os
import sys

import dag_cbor
from multiformats import CID, multihash, varint


def pb_varint(n):
    return bytes(varint.encode(n))


def pb_bytes(field, data):
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def pb_uint(field, n):
    return pb_varint(field << 3) + pb_varint(n)


def unixfs(kind, data=b"", filesize=None, blocksizes=()):
    out = pb_uint(1, kind)
    if data:
        out += pb_bytes(2, data)
    if filesize is not None:
        out += pb_uint(3, filesize)
    for size in blocksizes:
        out += pb_uint(4, size)
    return out


def pbnode(links, data):
    out = b""
    for (cid, name, tsize) in links:
        out += pb_bytes(2, pb_bytes(1, bytes(cid)) + pb_bytes(2, name.encode()) + pb_uint(3, tsize))
    return out + pb_bytes(1, data)


def make_cid(block, codec, version):
    mh = multihash.digest(block, "sha2-256")
    if version == 0:
        return CID("base58btc", 0, "dag-pb", mh)
    return CID("base32", 1, codec, mh)


class Profile:
    def __init__(self, p):
        self.chunk, self.width, self.raw, self.version = p["chunk"], p["width"], p["raw"], p["version"]


def add_file(path, prof, blocks):
    """Balanced layout, built top-down the way kubo's balanced builder fills it: returns (cid, tsize, filesize)."""
    with open(path, "rb") as f:
        data = f.read()
    chunks = [data[i:i + prof.chunk] for i in range(0, len(data), prof.chunk)] or [b""]
    leaves = []
    for chunk in chunks:
        if prof.raw:
            cid = make_cid(chunk, "raw", 1)
            blocks.append((cid, chunk))
            leaves.append((cid, len(chunk), len(chunk)))
        else:
            block = pbnode([], unixfs(2, chunk, len(chunk)))
            cid = make_cid(block, "dag-pb", prof.version)
            blocks.append((cid, block))
            leaves.append((cid, len(block), len(chunk)))
    if len(leaves) == 1:
        return leaves[0]
    # Depth: smallest d with width**d >= number of leaves; then fill each subtree completely, left to right.
    depth = 1
    while prof.width ** depth < len(leaves):
        depth += 1

    def build(items, d):
        if d == 0:
            return items.pop(0)
        children = []
        while items and len(children) < prof.width:
            children.append(build(items, d - 1))
        filesize = sum(c[2] for c in children)
        block = pbnode([(c[0], "", c[1]) for c in children], unixfs(2, b"", filesize, [c[2] for c in children]))
        cid = make_cid(block, "dag-pb", prof.version)
        blocks.append((cid, block))
        return (cid, len(block) + sum(c[1] for c in children), filesize)

    return build(list(leaves), depth)


def add_path(path, prof, blocks):
    if os.path.isdir(path):
        entries = []
        for name in sorted((n for n in os.listdir(path) if not n.startswith(".")), key=lambda n: n.encode()):
            entries.append((name, add_path(os.path.join(path, name), prof, blocks)))
        block = pbnode([(e[0], n, e[1]) for (n, e) in entries], unixfs(1))
        cid = make_cid(block, "dag-pb", prof.version)
        blocks.append((cid, block))
        return (cid, len(block) + sum(e[1] for (_, e) in entries), sum(e[2] for (_, e) in entries))
    return add_file(path, prof, blocks)


def op_add(req):
    prof = Profile(req["profile"])
    out = []
    for path in req["paths"]:
        blocks = []
        cid, tsize, size = add_path(path, prof, blocks)
        out.append({"cid": str(cid), "tsize": tsize, "blocks": len({str(c) for c, _ in blocks})})
    return out


def text(cid):
    """kubo's text form: base32 for CIDv1, base58btc for CIDv0."""
    return str(cid.set(base="base32")) if cid.version == 1 else str(cid)


def op_read_car(req):
    """Reads a CAR with dag-cbor and multiformats only; checks every block; returns roots and sections."""
    data = open(req["path"], "rb").read()
    length, n, _ = varint.decode_raw(data)
    header = dag_cbor.decode(data[n:n + length])
    offset = n + length
    sections = []
    while offset < len(data):
        size, m, _ = varint.decode_raw(data[offset:])
        body = data[offset + m:offset + m + size]
        cid = CID.decode(body[:34]) if body[:2] == b"\x12\x20" else None
        if cid is None:
            # CIDv1: version, codec, multihash (varints), then the digest.
            v, a, _ = varint.decode_raw(body)
            c, b, _ = varint.decode_raw(body[a:])
            h, d, _ = varint.decode_raw(body[a + b:])
            ln, e, _ = varint.decode_raw(body[a + b + d:])
            end = a + b + d + e + ln
            cid = CID.decode(body[:end])
        else:
            end = 34
        block = body[end:]
        ok = bytes(multihash.digest(block, "sha2-256")) == bytes(cid.digest)
        sections.append({"offset": offset, "cid": text(cid), "size": len(block), "ok": ok})
        offset += m + size
    return {"version": header["version"], "roots": [text(r) for r in header["roots"]], "sections": sections}


def op_write_car(req):
    """Writes a CAR of the given files' raw-leaf blocks with dag-cbor's header encoder, for Kiln to read."""
    prof = Profile(req["profile"])
    blocks = []
    roots = []
    for path in req["paths"]:
        roots.append(add_path(path, prof, blocks)[0])
    header = dag_cbor.encode({"roots": roots, "version": 1})
    out = bytes(varint.encode(len(header))) + header
    seen = set()
    for cid, block in blocks:
        if str(cid) in seen:
            continue
        seen.add(str(cid))
        body = bytes(cid) + block
        out += bytes(varint.encode(len(body))) + body
    with open(req["out"], "wb") as f:
        f.write(out)
    return {"roots": [str(r) for r in roots], "blocks": len(seen)}


OPS = {"add": op_add, "read_car": op_read_car, "write_car": op_write_car}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump({"result": OPS[request["op"]](request)}, sys.stdout)
