#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Drives `kiln template preview` in a real browser (Debian's chromium, headless) over the DevTools protocol,
editing the template's files while the page is open, as a creator would.

Request (JSON on stdin): {"url": URL, "template": folder, "asset": [copy-from, copy-to] (paths in the folder),
"break": [find, replace] (a text edit of template.yml that breaks it), "screenshots": folder or null}.
It waits until every image of the grid has loaded, reads the grid, the rarity table and the duplicates; then
breaks template.yml and waits, without touching the page, until it has reloaded by itself and shows errors; then
restores template.yml and waits for the grid to come back; then copies one asset over another and waits for the
page to update by itself, reporting which images changed.
Answer: {"tokens": N, "images": [[src, w, h], ...], "rarity": [[trait, value, weight, tokens], ...],
"duplicates": [text, ...], "errors": [text, ...], "restored": bool, "changed": K, "unchanged": M,
"reloadSeconds": {"break": s, "asset": s}, "afterAsset": [[src, w, h], ...]}.
"""
import json
import os
import shutil
import time

from gallery_browser import answer_with

IMAGES = ("Array.from(document.querySelectorAll('#grid img')).map(i => [i.getAttribute('src'),"
          " i.complete ? i.naturalWidth : -1, i.complete ? i.naturalHeight : -1])")


def wait_for(page, expression, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = page.evaluate(expression)
        except Exception:  # the page is reloading: its context is gone for a moment
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(expression)


def all_loaded(page):
    return wait_for(page, "(() => { const i = Array.from(document.querySelectorAll('#grid img'));"
                          " return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0) })()")


def version(page):
    return page.evaluate("document.body ? document.body.dataset.version : null")


def visit(page, req):
    page.call("Page.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    page.navigate(req["url"])
    all_loaded(page)
    answer = {
        "tokens": page.evaluate("document.querySelectorAll('#grid figure.token').length"),
        "images": page.evaluate(IMAGES),
        "rarity": page.evaluate("Array.from(document.querySelectorAll('#rarity tr')).slice(1).map(r =>"
                                " Array.from(r.cells).slice(0, 5).map(c => c.textContent))"),
        "duplicates": page.evaluate("Array.from(document.querySelectorAll('#duplicates li')).map(l => l.textContent)"),
    }
    shots = req.get("screenshots")
    if shots:
        page.screenshot(os.path.join(shots, "preview-grid.png"))
        page.evaluate("document.querySelector('h2').scrollIntoView()")
        page.screenshot(os.path.join(shots, "preview-rarity.png"))
        page.evaluate("window.scrollTo(0, 0)")

    # A broken edit: the page must reload by itself and show the error with its position.
    path = os.path.join(req["template"], "template.yml")
    with open(path, encoding="utf-8") as f:
        original = f.read()
    find, replace = req["break"]
    if find not in original:
        raise SystemExit(f"template.yml has no {find!r} to break")
    before = version(page)
    started = time.time()
    with open(path, "w", encoding="utf-8") as f:
        f.write(original.replace(find, replace, 1))
    wait_for(page, f"document.body && document.body.dataset.version !== {json.dumps(before)}"
                   " && document.querySelectorAll('#errors li').length > 0")
    answer.setdefault("reloadSeconds", {})["break"] = round(time.time() - started, 2)
    answer["errors"] = page.evaluate("Array.from(document.querySelectorAll('#errors li')).map(l => l.textContent)")
    if shots:
        page.screenshot(os.path.join(shots, "preview-error.png"))

    # Restored: the errors go and the grid is whole again.
    before = version(page)
    with open(path, "w", encoding="utf-8") as f:
        f.write(original)
    wait_for(page, f"document.body && document.body.dataset.version !== {json.dumps(before)}"
                   " && document.querySelectorAll('#errors li').length === 0")
    all_loaded(page)
    answer["restored"] = True
    sources = [image[0] for image in page.evaluate(IMAGES)]

    # An asset edited: the tokens that draw it get new images, the others keep theirs.
    source, target = req["asset"]
    before = version(page)
    started = time.time()
    shutil.copyfile(os.path.join(req["template"], source), os.path.join(req["template"], target + ".tmp"))
    os.replace(os.path.join(req["template"], target + ".tmp"), os.path.join(req["template"], target))
    wait_for(page, f"document.body && document.body.dataset.version !== {json.dumps(before)}")
    all_loaded(page)
    answer["reloadSeconds"]["asset"] = round(time.time() - started, 2)
    after = page.evaluate(IMAGES)
    answer["afterAsset"] = after
    answer["changed"] = sum(1 for a, b in zip(sources, after) if a != b[0])
    answer["unchanged"] = sum(1 for a, b in zip(sources, after) if a == b[0])
    return answer


if __name__ == "__main__":
    answer_with(visit)
