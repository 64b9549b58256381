#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Kiln's imaging against Pillow, the same work measured in one run, side by side.

1. Builds and runs Kiln's half (Benchmarks/Benchmarks/KilnImageCompare, release mode): it writes the six 1024²
   layers of the scene as PNG files and times composite + PNG encode, PNG decode and JPEG decode.
2. Times the same with Pillow on the same files: decode the layers, composite with the same modes where Pillow
   has them (alpha_composite for `normal`; ImageChops multiply/screen/overlay/add, which ignore alpha), encode
   with Pillow's default PNG settings; decode Kiln's PNG and JPEG outputs.

Run from the package root:  .venv/bin/python Benchmarks/compare_pillow.py
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import time

from PIL import Image, ImageChops
import PIL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best(runs, fn):
    result = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        result = min(result, time.perf_counter() - start)
    return result


def pillow_composite(layers, modes):
    canvas = layers[0]
    for layer, mode in zip(layers[1:], modes[1:]):
        faded = layer.copy()
        faded.putalpha(faded.getchannel("A").point(lambda a: round(a * 0.9)))
        if mode == "normal":
            canvas = Image.alpha_composite(canvas, faded)
        else:
            op = {"multiply": ImageChops.multiply, "screen": ImageChops.screen,
                  "overlay": ImageChops.overlay, "add": ImageChops.add}[mode]
            blended = op(canvas.convert("RGB"), faded.convert("RGB")).convert("RGBA")
            blended.putalpha(faded.getchannel("A"))
            canvas = Image.alpha_composite(canvas, blended)
    return canvas


def main():
    folder = tempfile.mkdtemp(prefix="kiln-compare-")
    subprocess.run(["swift", "build", "-c", "release", "--product", "KilnImageCompare"],
                   cwd=os.path.join(ROOT, "Benchmarks"), check=True, stdout=subprocess.DEVNULL)
    binary = os.path.join(ROOT, "Benchmarks", ".build", "release", "KilnImageCompare")
    kiln = json.loads(subprocess.run([binary, folder], check=True, capture_output=True, text=True).stdout)

    modes = ["normal", "normal", "screen", "multiply", "overlay", "add"]
    layers = [Image.open(os.path.join(folder, f"layer{i}.png")).convert("RGBA") for i in range(6)]
    out = io.BytesIO()

    def composite_encode():
        out.seek(0)
        out.truncate()
        pillow_composite(layers, modes).save(out, format="PNG")

    pil_composite_encode = best(5, composite_encode)
    pil_png_bytes = out.getbuffer().nbytes
    pil_normal = best(5, lambda: pillow_composite(layers, ["normal"] * 6))

    def composite_normal_encode():
        out.seek(0)
        out.truncate()
        pillow_composite(layers, ["normal"] * 6).save(out, format="PNG")

    pil_normal_encode = best(5, composite_normal_encode)
    pil_normal_png_bytes = out.getbuffer().nbytes
    png = open(os.path.join(folder, "kiln-composite.png"), "rb").read()
    jpeg = open(os.path.join(folder, "kiln-composite.jpg"), "rb").read()
    pil_png = best(5, lambda: Image.open(io.BytesIO(png)).convert("RGBA").load())
    pil_jpeg = best(5, lambda: Image.open(io.BytesIO(jpeg)).convert("RGBA").load())

    rows = [
        ("composite 6 layers 1024² + PNG encode", kiln["composite_encode_s"], pil_composite_encode),
        ("composite 6 layers 1024² (normal only)", kiln["composite_normal_s"], pil_normal),
        ("composite 6 layers 1024² (normal only) + PNG encode", kiln["composite_normal_encode_s"], pil_normal_encode),
        ("PNG decode 1024² → RGBA", kiln["decode_png_s"], pil_png),
        ("JPEG decode 1024² → RGBA", kiln["decode_jpeg_s"], pil_jpeg),
    ]
    print(f"Pillow {PIL.__version__}; Kiln with libpng {kiln['libpng']}, zlib {kiln['zlib']}; best of 5 runs")
    print("| work | Kiln | Pillow | Kiln ÷ Pillow time |")
    print("| --- | ---: | ---: | ---: |")
    for name, k, p in rows:
        print(f"| {name} | {k * 1000:.1f} ms | {p * 1000:.1f} ms | {p / k:.1f}× faster |")
    print(f"| PNG size of the composite | {kiln['png_bytes']:,} B | {pil_png_bytes:,} B | "
          f"{kiln['png_bytes'] / pil_png_bytes:.2f} |")
    print(f"| PNG size of the normal-only composite | {kiln['normal_png_bytes']:,} B | {pil_normal_png_bytes:,} B | "
          f"{kiln['normal_png_bytes'] / pil_normal_png_bytes:.2f} |")
    bound = kiln["memcpy_s"]
    print(f"\nMemory bound of the normal-only composite (memcpy of each layer's bytes onto one canvas-sized buffer, "
          f"{6 * 4} MiB): {bound * 1000:.2f} ms; Kiln's composite takes {kiln['composite_normal_s'] / bound:.1f}× that "
          f"(target ≤ 3×), Pillow's {pil_normal / bound:.1f}×.")


if __name__ == "__main__":
    sys.exit(main())
