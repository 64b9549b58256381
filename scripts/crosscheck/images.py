#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Independent image files and decodes for Kiln's imaging tests (Pillow, and a tiny PNG writer of our own).

Reads one JSON request {"op": ..., ...} on stdin, prints one JSON answer. Raw pixels travel as files of
straight RGBA8 bytes (`*.rgba`), row by row.

Pillow cannot write 2- and 4-bit gray, 16-bit RGB/RGBA/gray+alpha or interlaced PNGs, so `make_pngs` writes
every PNG with the small writer below (zlib + struct, Adam7 included) and, where Pillow can write the same
colour type, with Pillow too. Expected pixels come from the values we generated, and Pillow's own decode of
each file is checked against them before Kiln ever sees the file.
"""
import json
import os
import random
import struct
import sys
import zlib

from PIL import Image

# MARK: - A minimal, independent PNG writer


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, bit_depth):
    """Samples (ints) of one row → bytes, MSB first for sub-byte depths."""
    if bit_depth == 8:
        return bytes(samples)
    if bit_depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << bit_depth) | s
        nbits += bit_depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, width, height, color_type, bit_depth, pixels, palette=None, trns=None, interlace=False):
    """pixels[y][x] is a tuple of samples for the colour type. Filter 0 (None) on every row."""
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for (x0, y0, dx, dy) in passes:
        xs = list(range(x0, width, dx))
        if not xs:
            continue
        for y in range(y0, height, dy):
            samples = [s for x in xs for s in pixels[y][x]]
            raw += b"\x00" + pack_row(samples, bit_depth)
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        data += chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


# MARK: - Test files in every colour type and bit depth


def make_pngs(req):
    rng = random.Random(req["seed"])
    folder = req["dir"]
    out = []
    cases = []
    for interlace in (False, True):
        for depth in (1, 2, 4, 8, 16):
            cases.append(("gray", 0, depth, interlace, False))
        cases.append(("gray-trns", 0, 8, interlace, True))
        cases.append(("gray16-trns", 0, 16, interlace, True))
        for depth in (8, 16):
            cases.append(("rgb", 2, depth, interlace, False))
            cases.append(("gray-alpha", 4, depth, interlace, False))
            cases.append(("rgba", 6, depth, interlace, False))
        cases.append(("rgb-trns", 2, 8, interlace, True))
        for depth in (1, 2, 4, 8):
            cases.append(("palette", 3, depth, interlace, False))
        cases.append(("palette-trns", 3, 8, interlace, True))
    for (name, ct, depth, interlace, with_trns) in cases:
        w, h = rng.randint(1, 37), rng.randint(1, 29)
        maxv = (1 << depth) - 1
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ct]
        palette = trns = None
        if ct == 3:
            n = rng.randint(1, 1 << depth)
            palette = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(n)]
            pixels = [[(rng.randrange(n),) for _ in range(w)] for _ in range(h)]
            if with_trns:
                trns = bytes(rng.randrange(256) for _ in range(rng.randint(1, n)))
        else:
            pixels = [[tuple(rng.randint(0, maxv) for _ in range(channels)) for _ in range(w)] for _ in range(h)]
        key = None
        if with_trns and ct in (0, 2):
            key = pixels[rng.randrange(h)][rng.randrange(w)]  # a colour that occurs, made transparent
            trns = b"".join(struct.pack(">H", s) for s in key)

        def to8(s):  # Kiln's documented rule: sub-byte depths scale up, 16-bit keeps the high byte
            if depth == 16:
                return s >> 8
            return s * 255 // maxv

        expected = bytearray()
        for row in pixels:
            for px in row:
                if ct == 3:
                    r, g, b = palette[px[0]]
                    a = trns[px[0]] if trns is not None and px[0] < len(trns) else 255
                elif ct == 0:
                    r = g = b = to8(px[0])
                    a = 0 if key is not None and px == key else 255
                elif ct == 2:
                    r, g, b = (to8(s) for s in px)
                    a = 0 if key is not None and px == key else 255
                elif ct == 4:
                    r = g = b = to8(px[0])
                    a = to8(px[1])
                else:
                    r, g, b, a = (to8(s) for s in px)
                expected += bytes((r, g, b, a))
        stem = os.path.join(folder, f"{name}-{depth}{'-interlaced' if interlace else ''}")
        write_png(stem + ".png", w, h, ct, depth, pixels, palette, trns, interlace)
        with open(stem + ".rgba", "wb") as f:
            f.write(expected)
        # Pillow must read our file as we say it should (16-bit gray: Pillow keeps 16 bits, skip that check).
        if not (ct in (0,) and depth == 16):
            got = Image.open(stem + ".png").convert("RGBA").tobytes()
            if got != bytes(expected):
                raise SystemExit(f"Pillow disagrees with the expected pixels of {stem}.png")
        out.append({"png": stem + ".png", "rgba": stem + ".rgba", "width": w, "height": h})
    # And files Pillow itself writes, for the colour types it can.
    for mode in ("1", "L", "LA", "RGB", "RGBA", "P", "I;16"):
        w, h = rng.randint(1, 40), rng.randint(1, 40)
        if mode == "I;16":
            values = [rng.randrange(65536) for _ in range(w * h)]
            img = Image.new("I;16", (w, h))
            img.putdata(values)
            expected = bytes(b for v in values for b in (v >> 8, v >> 8, v >> 8, 255))
        else:
            base = Image.frombytes("RGBA", (w, h), bytes(rng.randrange(256) for _ in range(w * h * 4)))
            img = base.convert(mode) if mode != "P" else base.convert("RGB").quantize(colors=rng.randint(2, 256))
            expected = img.convert("RGBA").tobytes()
        stem = os.path.join(folder, f"pillow-{mode.replace(';', '')}")
        img.save(stem + ".png")
        with open(stem + ".rgba", "wb") as f:
            f.write(expected)
        out.append({"png": stem + ".png", "rgba": stem + ".rgba", "width": w, "height": h})
    return out


def make_jpegs(req):
    rng = random.Random(req["seed"])
    folder = req["dir"]
    out = []
    w, h = 61, 47
    # A smooth picture (JPEG's home ground) with some detail.
    base = Image.new("RGB", (w, h))
    base.putdata([((x * 4 + rng.randrange(8)) % 256, (y * 5) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    for mode in ("L", "RGB", "CMYK"):
        for progressive in (False, True):
            stem = os.path.join(folder, f"pillow-{mode}{'-progressive' if progressive else ''}")
            img = base.convert(mode)
            img.save(stem + ".jpg", quality=90, progressive=progressive)
            decoded = Image.open(stem + ".jpg")
            with open(stem + ".rgba", "wb") as f:
                f.write(decoded.convert("RGBA").tobytes())
            out.append({"jpeg": stem + ".jpg", "rgba": stem + ".rgba", "width": w, "height": h, "mode": mode})
    return out


def decode(req):
    """Pillow's RGBA8 of each file, written to file + '.pillow.rgba'."""
    out = []
    for path in req["files"]:
        img = Image.open(path)
        img.load()
        info = {"format": img.format, "mode": img.mode, "width": img.width, "height": img.height,
                "chunks": sorted(k for k in img.info.keys() if isinstance(k, str))}
        with open(path + ".pillow.rgba", "wb") as f:
            f.write(img.convert("RGBA").tobytes())
        out.append(info)
    return out


def pixel_distance(req):
    """For each pair of image files: Pillow decodes both to RGBA8 and numpy measures them (an agreement policy's
    inputs): max channel difference, sum of squared differences, samples, pixels that differ."""
    import numpy as np

    out = []
    for a, b in req["pairs"]:
        x = np.asarray(Image.open(a).convert("RGBA"), dtype=np.int64)
        y = np.asarray(Image.open(b).convert("RGBA"), dtype=np.int64)
        if x.shape != y.shape:
            out.append(None)
            continue
        d = x - y
        out.append({
            "maxChannelDiff": int(np.abs(d).max()),
            "sumSquaredDiff": str(int((d * d).sum())),
            "samples": str(int(d.size)),
            "differingPixels": int((np.abs(d).sum(axis=2) > 0).sum()),
        })
    return out


OPS = {"make_pngs": make_pngs, "make_jpegs": make_jpegs, "decode": decode, "pixel_distance": pixel_distance}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump({"result": OPS[request["op"]](request)}, sys.stdout)
