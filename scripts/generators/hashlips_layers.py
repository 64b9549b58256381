#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Writes a small layers folder in HashLips' layout for the creator's guide: Background, Body, Eyes, Hat, each
element `<Name>#<weight>.png` (Body has no weights: weight 1 each; Hat has nftchef's `None`), 128×128, drawn
with Pillow. Usage: hashlips_layers.py FOLDER
"""
import os
import sys

from PIL import Image, ImageDraw

SIZE = 128
TRAITS = {
    "Background": {"Dusk#10": "#2b2d5c", "Mint#6": "#2f6f5e", "Ember#2": "#7a2e1f"},
    "Body": {"Round": "#e8c07a", "Square": "#9fc3e8"},
    "Eyes": {"Dot#8": "#1b1b1b", "Wide#3": "#ffffff", "Laser#1": "#ff3b30"},
    "Hat": {"Cap#4": "#3a7bd5", "Crown#1": "#ffd24a", "None#6": None},
}


def draw(trait, name, color):
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if color is None:
        return image
    if trait == "Background":
        pen.rectangle([0, 0, SIZE, SIZE], fill=color)
    elif trait == "Body":
        box = [28, 34, 100, 116]
        (pen.ellipse if name.startswith("Round") else pen.rectangle)(box, fill=color)
    elif trait == "Eyes":
        radius = {"Dot": 4, "Wide": 9, "Laser": 6}[name.split("#")[0]]
        for x in (50, 78):
            pen.ellipse([x - radius, 62 - radius, x + radius, 62 + radius], fill=color)
    else:
        if name.startswith("Crown"):
            pen.polygon([(38, 36), (46, 14), (56, 30), (64, 10), (72, 30), (82, 14), (90, 36)], fill=color)
        else:
            pen.pieslice([34, 10, 94, 62], 180, 360, fill=color)
    return image


def main():
    folder = sys.argv[1]
    for trait, elements in TRAITS.items():
        os.makedirs(os.path.join(folder, trait), exist_ok=True)
        for name, color in elements.items():
            draw(trait, name, color).save(os.path.join(folder, trait, name + ".png"))


if __name__ == "__main__":
    main()
