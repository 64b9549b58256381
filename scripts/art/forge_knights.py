#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Draws the art of templates/forge-knights/assets (CC0, by the Kiln authors). Deterministic: run it again
and the PNGs come out the same. Needs Pillow (in the test venv):

    .venv/bin/python scripts/art/forge_knights.py
"""
import math
import os

from PIL import Image, ImageDraw, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "templates", "forge-knights", "assets")
S = 384


def canvas(size=(S, S)):
    return Image.new("RGBA", size, (0, 0, 0, 0))


def save(img, name):
    img.save(os.path.join(OUT, name), optimize=False)


def forge():
    img = canvas()
    d = ImageDraw.Draw(img)
    # Stone arch and floor, embers.
    d.rectangle([0, 300, S, S], fill=(38, 26, 22, 255))
    for i in range(12):
        x = i * 34
        d.rectangle([x, 300, x + 30, 318], fill=(58, 40, 32, 255))
    d.pieslice([40, 20, 344, 420], 180, 360, fill=(46, 30, 36, 255))
    d.pieslice([72, 52, 312, 420], 180, 360, fill=(0, 0, 0, 0))
    glow = canvas()
    g = ImageDraw.Draw(glow)
    for r in range(120, 0, -6):
        a = int(90 * (1 - r / 120))
        g.ellipse([S / 2 - r, 300 - r / 2, S / 2 + r, 300 + r / 2], fill=(255, 120, 30, a))
    img = Image.alpha_composite(img, glow)
    d = ImageDraw.Draw(img)
    for i in range(40):
        x = (i * 97) % S
        y = 150 + (i * 53) % 150
        d.ellipse([x, y, x + 3, y + 3], fill=(255, 180, 80, 200))
    save(img, "forge.png")


def halo_mask():
    img = Image.new("RGBA", (160, 160), (0, 0, 0, 255))
    d = ImageDraw.Draw(img)
    for r in range(80, 0, -2):
        v = int(255 * min(1, (80 - r) / 30))
        d.ellipse([80 - r, 80 - r, 80 + r, 80 + r], fill=(v, v, v, 255))
    save(img, "halo_mask.png")


BANNERS = {"crimson": (170, 20, 40), "azure": (30, 80, 190), "verdant": (30, 140, 70), "amber": (210, 140, 20)}


def banners():
    for name, color in BANNERS.items():
        img = canvas((64, 120))
        d = ImageDraw.Draw(img)
        d.rectangle([6, 0, 8, 120], fill=(120, 100, 80, 255))
        d.polygon([(10, 6), (60, 6), (60, 96), (35, 80), (10, 96)], fill=color + (235,))
        d.line([(10, 20), (60, 20)], fill=(255, 230, 160, 200), width=2)
        d.ellipse([27, 36, 43, 52], outline=(255, 230, 160, 220), width=2)
        save(img, f"banner_{name}.png")


def body():
    img = canvas()
    d = ImageDraw.Draw(img)
    skin = (70, 60, 70, 255)
    d.ellipse([162, 92, 222, 152], fill=skin)  # head
    d.rectangle([182, 148, 202, 166], fill=skin)  # neck
    d.polygon([(130, 170), (254, 170), (240, 290), (144, 290)], fill=skin)  # torso
    d.rectangle([150, 288, 182, 350], fill=skin)
    d.rectangle([202, 288, 234, 350], fill=skin)
    d.polygon([(130, 172), (104, 262), (120, 268), (146, 190)], fill=skin)  # arms
    d.polygon([(254, 172), (280, 262), (264, 268), (238, 190)], fill=skin)
    save(img, "body.png")


ARMOR = {"gold": ((212, 175, 55), (255, 230, 140)), "silver": ((170, 178, 190), (235, 240, 250)), "iron": ((96, 98, 104), (150, 152, 158))}


def armors():
    for name, (base, shine) in ARMOR.items():
        img = canvas()
        d = ImageDraw.Draw(img)
        d.polygon([(134, 172), (250, 172), (238, 286), (146, 286)], fill=base + (255,))
        d.polygon([(150, 180), (234, 180), (226, 240), (158, 240)], fill=shine + (120,))
        for y in (200, 230, 260):
            d.line([(146, y), (238, y)], fill=(0, 0, 0, 90), width=2)
        d.ellipse([120, 160, 160, 200], fill=base + (255,))  # pauldrons
        d.ellipse([224, 160, 264, 200], fill=base + (255,))
        d.rectangle([150, 288, 182, 350], fill=base + (230,))
        d.rectangle([202, 288, 234, 350], fill=base + (230,))
        save(img, f"armor_{name}.png")


def helms():
    img = canvas()
    d = ImageDraw.Draw(img)
    d.chord([158, 84, 226, 150], 180, 360, fill=(140, 144, 150, 255))
    d.rectangle([158, 116, 226, 126], fill=(110, 112, 118, 255))
    save(img, "helm_plain.png")
    img = canvas()
    d = ImageDraw.Draw(img)
    d.chord([158, 84, 226, 150], 180, 360, fill=(120, 110, 100, 255))
    d.polygon([(160, 110), (132, 66), (170, 100)], fill=(235, 225, 200, 255))
    d.polygon([(224, 110), (252, 66), (214, 100)], fill=(235, 225, 200, 255))
    save(img, "helm_horned.png")
    img = canvas()
    d = ImageDraw.Draw(img)
    d.polygon([(160, 100), (166, 70), (180, 90), (192, 62), (204, 90), (218, 70), (224, 100)], fill=(240, 200, 60, 255))
    for x in (172, 192, 212):
        d.ellipse([x - 4, 88, x + 4, 96], fill=(200, 30, 60, 255))
    save(img, "helm_crown.png")


def sword():
    img = canvas()
    d = ImageDraw.Draw(img)
    d.polygon([(272, 70), (282, 70), (282, 250), (277, 262), (272, 250)], fill=(220, 225, 235, 255))
    d.rectangle([258, 250, 296, 258], fill=(150, 110, 40, 255))
    d.rectangle([273, 258, 281, 284], fill=(90, 60, 30, 255))
    save(img, "sword.png")


def frame():
    img = canvas()
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, S - 1, S - 1], outline=(150, 110, 50, 255), width=10)
    d.rectangle([12, 12, S - 13, S - 13], outline=(90, 60, 30, 255), width=3)
    d.rectangle([10, 326, S - 11, S - 11], fill=(20, 12, 16, 200))
    save(img, "frame.png")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    forge()
    halo_mask()
    banners()
    body()
    armors()
    helms()
    sword()
    frame()
    print("wrote", len(os.listdir(OUT)), "files to", OUT)
