#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Checks `kiln serve`'s gateway, metadata API and /metrics as an independent client would.

HTTP with `requests`; CARs parsed by scripts/standins/ipfs_car.py (`dag-cbor` for the header, `multiformats` for CIDs and
multihashes), dag-pb and UnixFS read by a protobuf reader written here; /metrics parsed by `prometheus_client`'s text parser.
Request (JSON on stdin): {"base": URL, "dir": token directory CID, "big": CID of a multi-chunk file,
"bigFile": its path, "site": CID of a folder with index.html, "token": "/tokens/…/1"}.
Answer: {"checks": [[name, ok, detail], …]}.
"""
import hashlib
import json
import os
import sys

import requests
from multiformats import CID, multihash, varint
from prometheus_client.parser import text_string_to_metric_families

# The CAR reader the IPFS stand-ins use (dag-cbor + multiformats, never Kiln's code).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "standins"))
from ipfs_car import sections as read_car  # noqa: E402

checks = []


def check(name, ok, detail=""):
    checks.append([name, bool(ok), str(detail)[:400]])
    return ok


def pb_fields(data):
    """(field, wiretype, value) of a protobuf message: varints and length-delimited fields only."""
    i = 0
    while i < len(data):
        key, n, _ = varint.decode_raw(data[i:])
        i += n
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, n, _ = varint.decode_raw(data[i:])
            i += n
        elif wire == 2:
            size, n, _ = varint.decode_raw(data[i:])
            i += n
            value = data[i:i + size]
            i += size
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, value


def dagpb(block):
    """Links [(cid, name)] and the UnixFS message {type, data, filesize, blocksizes}."""
    links, unixfs = [], {"type": None, "data": b"", "filesize": None, "blocksizes": []}
    for field, _, value in pb_fields(block):
        if field == 2:
            link = {"cid": None, "name": ""}
            for f, _, v in pb_fields(value):
                if f == 1:
                    link["cid"] = CID.decode(bytes(v))
                elif f == 2:
                    link["name"] = bytes(v).decode()
            links.append(link)
        elif field == 1:
            for f, _, v in pb_fields(value):
                if f == 1:
                    unixfs["type"] = v
                elif f == 2:
                    unixfs["data"] = bytes(v)
                elif f == 3:
                    unixfs["filesize"] = v
                elif f == 4:
                    unixfs["blocksizes"].append(v)
    return links, unixfs


def s(cid):
    return str(cid.set(base="base32"))


def complete(root, blocks):
    """Whether every block reachable from root is among blocks (a dict)."""
    todo, seen = [root], set()
    while todo:
        cid = todo.pop()
        if s(cid) in seen:
            continue
        seen.add(s(cid))
        if s(cid) not in blocks:
            return False, f"missing {cid}"
        if cid.codec.name == "dag-pb":
            todo += [link["cid"] for link in dagpb(blocks[s(cid)])[0]]
    return True, f"{len(seen)} blocks"


def file_bytes(root, blocks):
    """The UnixFS file's bytes from the blocks, or None where a needed block is absent."""
    if s(root) not in blocks:
        return None
    block = blocks[s(root)]
    if root.codec.name == "raw":
        return block
    links, unixfs = dagpb(block)
    out = unixfs["data"]
    for link in links:
        part = file_bytes(link["cid"], blocks)
        if part is None:
            return None
        out += part
    return out


def car(url, **kw):
    r = requests.get(url, **kw)
    header, sections = read_car(r.content)
    return r, header, sections


def main():
    req = json.load(sys.stdin)
    base, d = req["base"], req["dir"]
    root = CID.decode(d)

    # dag-scope=all: the whole token directory, each block once, verified, complete.
    r, header, sections = car(f"{base}/ipfs/{d}?format=car")
    blocks = {s(c): b for c, b in sections}
    check("car status", r.status_code == 200, r.status_code)
    check("car content type", r.headers.get("Content-Type", "").replace(" ", "")
          == "application/vnd.ipld.car;version=1;order=dfs;dups=n", r.headers.get("Content-Type"))
    check("car disposition", r.headers.get("Content-Disposition") == f'attachment; filename="{d}.car"',
          r.headers.get("Content-Disposition"))
    check("car header", header["version"] == 1 and [s(x) for x in header["roots"]] == [d], header)
    check("car no duplicates", len(blocks) == len(sections), len(sections))
    ok, detail = complete(root, blocks)
    check("car all complete", ok, detail)
    check("car dfs order", s(sections[0][0]) == d, s(sections[0][0]))
    check("car immutable", r.headers.get("Cache-Control") == "public, max-age=29030400, immutable",
          r.headers.get("Cache-Control"))
    check("car etag", r.headers.get("ETag", "").startswith(f'"{d}.car.'), r.headers.get("ETag"))
    links = {link["name"]: link["cid"] for link in dagpb(blocks[d])[0]}
    check("directory entries", set(links) == {"image.png", "thumb.jpg", "metadata.json"}, sorted(links))

    # Accept header instead of format; format wins over Accept.
    r2 = requests.get(f"{base}/ipfs/{d}", headers={"Accept": "application/vnd.ipld.car; version=1; order=dfs"})
    check("accept car", r2.status_code == 200 and r2.content == r.content, r2.status_code)
    r3 = requests.get(f"{base}/ipfs/{d}?format=raw", headers={"Accept": "application/vnd.ipld.car"})
    check("format wins", r3.headers.get("Content-Type") == "application/vnd.ipld.raw" and r3.content == blocks[d],
          r3.headers.get("Content-Type"))

    # dag-scope=block: the root only; on a path: the path's blocks then the terminal block.
    _, _, only = car(f"{base}/ipfs/{d}?format=car&dag-scope=block")
    check("scope block", [s(c) for c, _ in only] == [d], [s(c) for c, _ in only])
    image = links["image.png"]
    _, hdr, path_blocks = car(f"{base}/ipfs/{d}/image.png?format=car&dag-scope=block")
    check("scope block on path", [s(c) for c, _ in path_blocks] == [d, s(image)] and [s(x) for x in hdr["roots"]] == [d],
          [s(c) for c, _ in path_blocks])

    # dag-scope=entity on a file: every block of the file; its bytes are the deserialized answer.
    _, _, entity = car(f"{base}/ipfs/{d}/image.png?format=car&dag-scope=entity")
    png = requests.get(f"{base}/ipfs/{d}/image.png")
    got = file_bytes(image, {s(c): b for c, b in entity})
    check("entity file", got is not None and got == png.content and png.content[:8] == b"\x89PNG\r\n\x1a\n",
          len(png.content))
    check("png type", png.headers.get("Content-Type") == "image/png", png.headers.get("Content-Type"))
    check("png etag", png.headers.get("ETag") == f'"{s(image)}"', png.headers.get("ETag"))
    check("nosniff", png.headers.get("X-Content-Type-Options") == "nosniff", png.headers)

    # A file in one block (Kiln answers it as one buffer, not a walk): the same bytes, sniffed type and ranges.
    meta = links["metadata.json"]
    full = requests.get(f"{base}/ipfs/{s(meta)}")
    check("one-block file", full.status_code == 200 and full.content == file_bytes(meta, blocks)
          and full.headers.get("Content-Type") == "application/json"
          and full.headers.get("Content-Length") == str(len(full.content)), full.headers)
    r = requests.get(f"{base}/ipfs/{s(meta)}", headers={"Range": "bytes=5-24"})
    check("one-block range", r.status_code == 206 and r.content == full.content[5:25]
          and r.headers.get("Content-Range") == f"bytes 5-24/{len(full.content)}", r.headers.get("Content-Range"))
    r = requests.get(f"{base}/ipfs/{s(meta)}", headers={"Range": "bytes=-7"})
    check("one-block suffix", r.status_code == 206 and r.content == full.content[-7:], r.status_code)
    r = requests.get(f"{base}/ipfs/{s(meta)}", headers={"Range": f"bytes={len(full.content)}-"})
    check("one-block 416", r.status_code == 416, r.status_code)

    # A multi-chunk file: entity-bytes ranges give exactly the blocks that cover the range.
    big = CID.decode(req["big"])
    content = open(req["bigFile"], "rb").read()
    _, _, whole = car(f"{base}/ipfs/{req['big']}?format=car&dag-scope=entity")
    whole_blocks = {s(c): b for c, b in whole}
    check("big entity", file_bytes(big, whole_blocks) == content, len(whole))
    leaves = [link["cid"] for link in dagpb(whole_blocks[req["big"]])[0]]
    sizes = dagpb(whole_blocks[req["big"]])[1]["blocksizes"]
    check("big has chunks", len(leaves) >= 3, len(leaves))
    first = sizes[0]
    for spec, want in [(f"0:{first - 1}", [0]), (f"{first}:{first}", [1]), (f"{first - 1}:{first}", [0, 1]),
                       ("-1:*", [len(leaves) - 1]), (f"0:*", list(range(len(leaves)))),
                       (f"{first + 10}:-{sizes[-1] + 1}", list(range(1, len(leaves) - 1)))]:
        _, _, part = car(f"{base}/ipfs/{req['big']}?format=car&entity-bytes={spec}")
        names = [s(c) for c, _ in part]
        check(f"entity-bytes {spec}", names == [req["big"]] + [s(leaves[i]) for i in want], names)
    r = requests.get(f"{base}/ipfs/{req['big']}?format=car&entity-bytes={len(content) + 5}:*")
    check("entity-bytes outside", r.status_code == 400, r.status_code)
    _, _, zero = car(f"{base}/ipfs/{req['big']}?format=car&entity-bytes=100:50")
    check("entity-bytes empty = block", [s(c) for c, _ in zero] == [req["big"]], len(zero))

    # HTTP Range on the deserialized file.
    r = requests.get(f"{base}/ipfs/{req['big']}", headers={"Range": "bytes=1000-1999"})
    check("range 206", r.status_code == 206 and r.content == content[1000:2000]
          and r.headers.get("Content-Range") == f"bytes 1000-1999/{len(content)}", r.headers.get("Content-Range"))
    r = requests.get(f"{base}/ipfs/{req['big']}", headers={"Range": "bytes=-10"})
    check("range suffix", r.status_code == 206 and r.content == content[-10:], r.status_code)
    r = requests.get(f"{base}/ipfs/{req['big']}", headers={"Range": f"bytes={len(content)}-"})
    check("range 416", r.status_code == 416, r.status_code)
    r = requests.get(f"{base}/ipfs/{req['big']}")
    check("big whole", r.content == content and hashlib.sha256(r.content).digest() == hashlib.sha256(content).digest(),
          len(r.content))

    # Raw blocks.
    r = requests.get(f"{base}/ipfs/{d}", headers={"Accept": "application/vnd.ipld.raw"})
    check("raw block", r.status_code == 200 and bytes(multihash.digest(r.content, "sha2-256")) == bytes(root.digest)
          and r.headers.get("Content-Disposition") == f'attachment; filename="{d}.bin"', r.status_code)
    r = requests.get(f"{base}/ipfs/{d}/image.png?format=raw")
    check("raw with path 400", r.status_code == 400, r.status_code)

    # HEAD: the same headers, no body.
    h = requests.head(f"{base}/ipfs/{d}/image.png")
    check("head", h.status_code == 200 and h.headers.get("Content-Length") == str(len(png.content)) and not h.content
          and h.headers.get("ETag") == png.headers.get("ETag"), h.headers)
    h = requests.head(f"{base}/ipfs/bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    check("head absent 404", h.status_code in (404, 400), h.status_code)

    # Caching: If-None-Match with the ETag gives 304.
    r = requests.get(f"{base}/ipfs/{d}/image.png", headers={"If-None-Match": png.headers["ETag"]})
    check("304", r.status_code == 304 and not r.content, r.status_code)

    # Errors: absent root 404, bad CID 400, a codec Kiln does not hold 501.
    absent = CID("base32", 1, "raw", multihash.wrap(hashlib.sha256(b"not published").digest(), "sha2-256"))
    check("absent 404", requests.get(f"{base}/ipfs/{s(absent)}?format=raw").status_code == 404)
    check("bad cid 400", requests.get(f"{base}/ipfs/not-a-cid").status_code == 400)
    cbor = CID("base32", 1, "dag-cbor", multihash.wrap(hashlib.sha256(b"x").digest(), "sha2-256"))
    check("dag-cbor 501", requests.get(f"{base}/ipfs/{s(cbor)}?format=car").status_code == 501)
    check("missing path 404", requests.get(f"{base}/ipfs/{d}/nope.png").status_code == 404)
    check("probe", requests.get(f"{base}/ipfs/bafkqaaa?format=raw").status_code == 200)

    # Directories: a listing, or index.html; without the trailing slash, a redirect.
    r = requests.get(f"{base}/ipfs/{d}", allow_redirects=False)
    check("dir redirect", r.status_code == 301 and r.headers.get("Location") == f"/ipfs/{d}/", r.headers.get("Location"))
    r = requests.get(f"{base}/ipfs/{d}/")
    check("dir listing", r.status_code == 200 and "image.png" in r.text and r.headers["Content-Type"].startswith("text/html"),
          r.status_code)
    r = requests.get(f"{base}/ipfs/{req['site']}/")
    check("index.html", r.status_code == 200 and "kiln gateway index" in r.text, r.text[:100])
    r = requests.get(f"{base}/ipfs/{req['site']}/a%20b.txt")
    check("percent-encoded name", r.status_code == 200 and r.text == "spaced\n", r.status_code)

    # Metadata API: the exact published bytes, their CID as ETag (computed here from the bytes).
    r = requests.get(f"{base}{req['token']}")
    etag = r.headers.get("ETag", "").strip('"')
    computed = s(CID("base32", 1, "raw", multihash.wrap(hashlib.sha256(r.content).digest(), "sha2-256")))
    check("metadata api", r.status_code == 200 and etag == computed and json.loads(r.content)["name"], etag)
    same = requests.get(f"{base}/ipfs/{etag}")
    check("metadata = gateway bytes", same.content == r.content, len(same.content))
    r304 = requests.get(f"{base}{req['token']}", headers={"If-None-Match": f'"{etag}"'})
    check("metadata 304", r304.status_code == 304, r304.status_code)
    image_cid = json.loads(r.content)["image"].removeprefix("ipfs://")
    r = requests.get(f"{base}{req['token']}/image")
    check("image api", r.status_code == 200 and r.headers.get("ETag") == f'"{image_cid}"'
          and r.content[:4] == b"\x89PNG", r.headers.get("ETag"))
    r = requests.get(f"{base}{req['token']}/history")
    versions = r.json()["versions"]
    check("history", r.status_code == 200 and versions and versions[0]["metadata"] == etag, versions[:1])
    r = requests.get(f"{base}/tokens/31337/0x0000000000000000000000000000000000000001/1")
    check("unknown collection 404", r.status_code == 404 and r.json()["error"]["code"] == 404, r.status_code)
    r = requests.get(f"{base}/tokens/31337/not-an-address/1")
    check("bad contract 400", r.status_code == 400, r.status_code)

    # Read-only; /health; /metrics in the Prometheus text format.
    check("post 405", requests.post(f"{base}/ipfs/{d}").status_code == 405)
    check("health", requests.get(f"{base}/health").json()["status"] == "ok")
    text = requests.get(f"{base}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests_total = families.get("kiln_http_requests")
    statuses = {(x.labels.get("route"), x.labels.get("status")) for x in requests_total.samples} if requests_total else set()
    check("metrics requests", ("/ipfs", "200") in statuses and ("/ipfs", "404") in statuses, sorted(statuses)[:10])
    blocks_served = families.get("kiln_gateway_blocks_served")
    check("metrics blocks", blocks_served is not None and blocks_served.samples[0].value > 0,
          blocks_served.samples if blocks_served else sorted(families))
    check("metrics batch", "kiln_jobs" in families and "kiln_operator_request_seconds" in families, sorted(families))
    json.dump({"checks": checks}, sys.stdout)


main()
