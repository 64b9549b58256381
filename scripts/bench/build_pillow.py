#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""The plain Pillow script a creator would otherwise write for `kiln build`: the same Forge Knights layers
composited per token and written as images/<id>.png and json/<id>.json, one process, Pillow's defaults.

It reads each token's traits from the metadata Kiln's build wrote (so both build the same collection) and does
the same layer work: the background gradient (drawn once), the inference picture screened through the halo mask,
banner, body, armour, frame, the two text labels, PNG encode, metadata JSON. The inference picture itself is one
fixed image for every token: a creator's script would call a model there, which costs Pillow nothing here, so the
comparison favours Pillow.

Usage: build_pillow.py TEMPLATE_DIR KILN_BUILD_DIR OUT_DIR COUNT   (prints {"seconds": s, "tokens": n})
"""
import json
import os
import sys
import time

from PIL import Image, ImageChops, ImageDraw


def main():
    template, kiln_out, out, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    assets = os.path.join(template, "assets")
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "json"), exist_ok=True)
    started = time.perf_counter()
    load = lambda name: Image.open(os.path.join(assets, name)).convert("RGBA")
    forge, body, frame, mask = load("forge.png"), load("body.png"), load("frame.png"), load("halo_mask.png")
    cache = {}

    def asset(name):
        if name not in cache:
            cache[name] = load(name)
        return cache[name]

    background = Image.new("RGBA", (384, 384))
    draw = ImageDraw.Draw(background)
    for y in range(384):
        t = y / 383
        color = tuple(round(a + (b - a) * t) for a, b in zip((0x1a, 0x10, 0x26), (0x3b, 0x1d, 0x0e))) + (255,)
        draw.line([(0, y), (383, y)], fill=color)
    generative = Image.effect_mandelbrot((160, 160), (-2, -1.5, 1, 1.5), 100).convert("RGBA")
    halo = mask.convert("L").resize((160, 160))
    for token in range(1, count + 1):
        with open(os.path.join(kiln_out, "json", f"{token}.json")) as f:
            traits = {a["trait_type"]: a["value"] for a in json.load(f)["attributes"]}
        canvas = background.copy()
        canvas = Image.alpha_composite(canvas, forge)
        region = canvas.crop((112, 40, 272, 200))
        screened = ImageChops.screen(region.convert("RGB"), generative.convert("RGB")).convert("RGBA")
        alpha = halo.point(lambda a: round(a * 0.85))
        canvas.paste(Image.composite(screened, region, alpha), (112, 40))
        banner = asset(f"banner_{traits['Banner']}.png")
        layer = Image.new("RGBA", (384, 384))
        layer.paste(banner, (24, 28))
        canvas = Image.alpha_composite(canvas, layer)
        canvas = Image.alpha_composite(canvas, body)
        canvas = Image.alpha_composite(canvas, asset(f"armor_{traits['Armor']}.png"))
        canvas = Image.alpha_composite(canvas, frame)
        text = ImageDraw.Draw(canvas)
        text.text((22, 338), f"LV {traits['Level']}", fill=(255, 233, 176, 255))
        text.text((300, 345), f"#{token}", fill=(255, 233, 176, 192))
        canvas.convert("RGB").save(os.path.join(out, "images", f"{token}.png"))
        metadata = {"name": f"Forge Knight #{token}", "image": f"ipfs://__CID__/{token}.png",
                    "attributes": [{"trait_type": k, "value": v} for k, v in traits.items()]}
        with open(os.path.join(out, "json", f"{token}.json"), "w") as f:
            json.dump(metadata, f)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "tokens": count}))


if __name__ == "__main__":
    main()
