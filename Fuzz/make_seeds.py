"""Writes the seed corpora in Fuzz/corpus/ (committed; re-run only to change them).

    .venv/bin/python3 Fuzz/make_seeds.py DEMO_FOLDER

DEMO_FOLDER is what `kiln demo` made (kiln.yml, operators.yml, out/ with its CAR and bundles): those files seed
the targets that read Kiln's own formats. Images come from Pillow, ABI data from eth-abi, CIDs from multiformats:
independent encoders, so the seeds are what other tools write, not only what Kiln writes."""
import base64
import glob
import io
import json
import os
import sys

from eth_abi import encode
from multiformats import CID, multihash
from PIL import Image

root = os.path.dirname(os.path.abspath(__file__))
demo = sys.argv[1]


def put(target, name, data):
    folder = os.path.join(root, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def small(mode, size=(9, 7)):
    image = Image.new(mode, size)
    pixels = image.load()
    for y in range(size[1]):
        for x in range(size[0]):
            v = (x * 37 + y * 91) % 256
            pixels[x, y] = {"L": v, "LA": (v, 255 - v), "RGB": (v, 255 - v, x * 20), "RGBA": (v, 255 - v, 40, 128 + y),
                            "P": v % 16, "I;16": v * 257, "CMYK": (v, 0, 255 - v, 10)}[mode]
    return image


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# png: colour types, bit depths, palette + tRNS, interlacing, text chunks.
put("png", "rgba.png", encoded(small("RGBA"), "PNG"))
put("png", "rgb-interlaced.png", encoded(small("RGB"), "PNG", interlace=1))
put("png", "gray.png", encoded(small("L"), "PNG"))
put("png", "gray-alpha.png", encoded(small("LA"), "PNG"))
put("png", "gray16.png", encoded(small("I;16"), "PNG"))
palette = small("P")
palette.putpalette([i * 16 % 256 for i in range(48)])
put("png", "palette-trns.png", encoded(palette, "PNG", transparency=3, bits=4))
from PIL import PngImagePlugin
info = PngImagePlugin.PngInfo()
info.add_text("Comment", "kiln")
info.add_itxt("Title", "fuzz", zip=True)
put("png", "text-chunks.png", encoded(small("RGB"), "PNG", pnginfo=info))

# jpeg: baseline, progressive, grayscale, subsampling, CMYK, restart intervals.
put("jpeg", "baseline.jpg", encoded(small("RGB", (17, 9)), "JPEG", quality=80))
put("jpeg", "progressive.jpg", encoded(small("RGB", (17, 9)), "JPEG", progressive=True))
put("jpeg", "gray.jpg", encoded(small("L", (8, 8)), "JPEG"))
put("jpeg", "444.jpg", encoded(small("RGB", (16, 16)), "JPEG", subsampling=0))
put("jpeg", "cmyk.jpg", encoded(small("CMYK", (8, 8)), "JPEG"))
put("jpeg", "restart.jpg", encoded(small("RGB", (32, 16)), "JPEG", restart_marker_blocks=1))

# cid: every version, base and codec Kiln meets.
digest = multihash.digest(b"kiln", "sha2-256")
for name, cid in {
    "v0": CID("base58btc", 0, "dag-pb", digest),
    "v1-dag-pb": CID("base32", 1, "dag-pb", digest),
    "v1-raw": CID("base32", 1, "raw", digest),
    "v1-dag-cbor": CID("base32", 1, "dag-cbor", digest),
    "v1-base58": CID("base58btc", 1, "raw", digest),
    "identity": CID("base32", 1, "raw", multihash.digest(b"", "identity")),
}.items():
    put("cid", name + ".txt", cid.encode())
    put("cid", name + ".bin", bytes(cid))

# json: the shapes Kiln reads, numbers and strings at their edges.
put("json", "numbers.json", '[0, -0, 1e21, 1e-7, 123456789012345678901234567890, 0.1, -1.5e300, 5e-324]')
put("json", "strings.json", '{"a": "\\u00e9\\ud83d\\ude00\\n\\t\\"", "b": "\u20ac", "\\u0000": null}')
put("json", "nested.json", '{"z": [true, false, null, {"y": [[], {}]}], "a": {"b": {"c": 1}}}')
put("json", "input.json", json.dumps({"seed": 5, "palette": ["#ff8800", "#224466"], "level": 3}))

# abi-log: eth_getLogs items (JSON) and raw ABI data.
transfer = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
log = {"address": "0x5fbdb2315678afecb367f032d93f642f64180aa3", "topics": [transfer, "0x" + "00" * 31 + "01",
       "0x" + "00" * 12 + "11" * 20, "0x" + "00" * 31 + "07"], "data": "0x", "blockNumber": "0x10",
       "blockHash": "0x" + "ab" * 32, "transactionHash": "0x" + "cd" * 32, "transactionIndex": "0x0",
       "logIndex": "0x2", "removed": False}
put("abi-log", "transfer.json", json.dumps(log))
level = dict(log, topics=["0x" + "11" * 32, "0x" + "00" * 31 + "07"], data="0x" + encode(["uint256"], [9]).hex())
put("abi-log", "levelup.json", json.dumps(level))
put("abi-log", "dynamic.bin", encode(["string", "bytes", "uint256", "int8"], ["kiln", b"\x01\x02", 3, -5]))
put("abi-log", "static.bin", encode(["address", "bool", "bytes32", "string"], ["0x" + "11" * 20, True, b"\x22" * 32, "a"]))
put("abi-log", "two-dynamic.bin", encode(["bytes", "uint64", "int256", "bytes", "string"],
                                         [b"x", 7, -(2 ** 255), b"", "\u00e9"]))

# template: the shipped templates (their assets are mirrored small in Fuzz/template/assets).
for path in glob.glob(os.path.join(root, "..", "templates", "*", "template.yml")):
    put("template", os.path.basename(os.path.dirname(path)) + ".yml", open(path, "rb").read())
put("template", "minimal.yml", "name: Min\nsize: [16, 16]\nlayers:\n  - fill: \"#ff0000\"\n")

# kiln-yml, operators-yml: the demo's.
put("kiln-yml", "demo.yml", open(os.path.join(demo, "kiln.yml")).read().replace(os.path.dirname(root) + "/", ""))
put("operators-yml", "demo.yml", open(os.path.join(demo, "operators.yml"), "rb").read())

# node-request, infernet-request: a job, an agreement, each way Infernet can carry them.
job = {"jobId": "0x" + "01" * 32, "modelId": "kiln/cppn-v1", "input": {"seed": 5, "size": 16},
       "referenceBlock": 12}
agreement = {"jobId": "0x" + "01" * 32, "canonicalOutputHash": "0x" + "02" * 32,
             "canonicalOutput": base64.b64encode(b"\x00\x01\x02").decode()}
put("node-request", "job.json", json.dumps(job))
put("node-request", "agreement.json", json.dumps(agreement))
put("node-request", "float-job.json", json.dumps(dict(job, modelId="kiln/cppn-float-v1")))
put("infernet-request", "offchain.json", json.dumps({"source": 1, "destination": 1, "data": job,
                                                     "requires_proof": False}))
put("infernet-request", "agreement.json", json.dumps({"source": 1, "destination": 1, "data": agreement}))
put("infernet-request", "onchain.json", json.dumps({"source": 0, "destination": 0,
                                                    "data": encode(["string"], [json.dumps(job)]).hex(),
                                                    "requires_proof": False}))

# json-rpc: single answers and a batch.
put("json-rpc", "quantity.json", '{"jsonrpc": "2.0", "id": 1, "result": "0x1b4"}')
put("json-rpc", "error.json", '{"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "too many"}}')
put("json-rpc", "block.json", json.dumps({"jsonrpc": "2.0", "id": 1,
                                          "result": {"number": "0x7", "hash": "0x" + "ab" * 32}}))
put("json-rpc", "logs.json", json.dumps({"jsonrpc": "2.0", "id": 1, "result": [log, level]}))
put("json-rpc", "batch.json", json.dumps([
    {"jsonrpc": "2.0", "id": 2, "result": {"number": "0x7", "hash": "0x" + "ab" * 32}},
    {"jsonrpc": "2.0", "id": 1, "result": "0x10"},
    {"jsonrpc": "2.0", "id": 3, "result": [log]}]))

# car, unixfs, attestation: Kiln's own output (the demo's first batch).
cars = sorted(glob.glob(os.path.join(demo, "out", "batch-*.car")))
data = open(cars[0], "rb").read()
from multiformats import varint
length, n, _ = varint.decode_raw(data)
offset, blocks = n + length, []
while offset < len(data):
    size, m, _ = varint.decode_raw(data[offset:])
    body = data[offset + m:offset + m + size]
    cid = CID.decode(body[:36]) if body[:1] == b"\x01" else CID.decode(body[:34])
    blocks.append((cid, body[len(bytes(cid)):], data[offset:offset + m + size]))
    offset += m + size
header = data[:n + length]
dag = [b for b in blocks if b[0].codec.name == "dag-pb"]
raw = [b for b in blocks if b[0].codec.name == "raw"]
small_blocks = sorted(dag, key=lambda b: len(b[1]))
put("car", "header-only.car", header)
put("car", "two-blocks.car", header + small_blocks[0][2] + small_blocks[1][2])
put("car", "dag-and-raw.car", header + small_blocks[0][2] + min(raw, key=lambda b: len(b[1]))[2])
for i, (cid, block, _) in enumerate(small_blocks[:3] + small_blocks[-2:]):
    put("unixfs", f"node-{i}.pb", block)
# Attestation bundles are files of the token directories (raw blocks holding the request and its domain).
bundles = [block for _, block, _ in raw if block.startswith(b"{") and b'"domain"' in block and b'"request"' in block]
for i, block in enumerate(bundles[:3]):
    put("attestation", f"bundle-{i}.json", block)
print("seeds written")

# More kiln.yml and operators.yml: every section the README documents.
put("kiln-yml", "full.yml", """chainId: 1
store: postgres://kiln@db.internal:5432/kiln
out: kiln-data/out
events: {rpc: "http://127.0.0.1:8545", fromBlock: 17000000, blockRange: 2000}
confirmations: 12
contracts:
  - {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: templates/forge-knights}
operators:
  source: chain
  registry: "0x000000000000000000000000000000000000AB1e"
  fromBlock: 17000000
  nodes:
    "0x6bb149663A64f13bc003c9a45877DFD18cA4e83D": http://10.0.0.5:8101
    "0xD0FD449665727d1220ada8Df5d1aF234727C9B4D": {infernet: "http://10.0.0.7:4000", container: kiln-node}
publish:
  mode: onchain
  key: publisher.key
  baseURI: https://media.example.org/
  ipfs:
    - {kubo: http://127.0.0.1:5001}
    - {kubo: https://rpc.filebase.io, bearer: env:FILEBASE_TOKEN}
    - {pinning: https://pin.example/psa, token: file:/etc/kiln/pin.token}
  origins: [https://media.example.org]
  check: https://trustless-gateway.link
  pinWait: 60
concurrency: 4
nodeTimeout: 20
leaseSeconds: 600
""")
put("kiln-yml", "anchors.yml", """base: &c {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: t}
chainId: 31337
store: data/kiln.sqlite
out: out
events: {file: events.jsonl}
contracts: [*c, {<<: *c, address: "0x0000000000000000000000000000000000000001"}]
operators: {file: operators.yml}
""")
put("operators-yml", "infernet.yml", """chainId: 31337
thresholdBps: 6667
verifyingContract: "0x000000000000000000000000000000000000AB1e"
operators:
  - {address: "0x6bb149663A64f13bc003c9a45877DFD18cA4e83D", endpoint: "http://10.0.0.5:8101", stake: "40000000000000000000", token: env:NODE_TOKEN}
  - {address: "0xD0FD449665727d1220ada8Df5d1aF234727C9B4D", endpoint: {infernet: "http://10.0.0.7:4000", container: kiln-node}, stake: "30000000000000000000"}
  - {address: "0xE46D5EC7587578d77303A9B7Cd19a5586B82dbC6", signingKey: "0x7CfFEF9A97E1989198C4b26d406be863c6a0Ac42", endpoint: "http://[::1]:1", stake: 1}
""")
put("operators-yml", "flow.yml", "chainId: 1\nthresholdBps: 10000\nverifyingContract: '0x0000000000000000000000000000000000000001'\noperators: []\n")
