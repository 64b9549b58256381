#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""How long a `kiln template preview` grid takes to be on screen in headless chromium: from starting the
preview (release build) to every image of the grid loaded. Then edits one asset and times the page updating by
itself. Usage: .venv/bin/python scripts/bench/preview_bench.py [COUNT] [--placeholder]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "crosscheck"))
from gallery_browser import Page, start_browser, stop_browser  # noqa: E402
from preview_browser import all_loaded, version, wait_for  # noqa: E402
from websockets.sync.client import connect  # noqa: E402


def main():
    count = int(next((a for a in sys.argv[1:] if a.isdigit()), "1000"))
    extra = ["--placeholder"] if "--placeholder" in sys.argv else []
    folder = tempfile.mkdtemp(prefix="kiln-preview-bench-")
    template = os.path.join(folder, "forge-knights")
    shutil.copytree(os.path.join(ROOT, "templates", "forge-knights"), template)
    subprocess.run(["swift", "build", "-c", "release", "--product", "kiln"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    browser, url, profile = start_browser()
    started = time.time()
    preview = subprocess.Popen([os.path.join(ROOT, ".build", "release", "kiln"), "template", "preview", template,
                                "--count", str(count), "--port", "0"] + extra,
                               stdout=subprocess.PIPE, text=True)
    try:
        address = preview.stdout.readline().split()[-1]
        with connect(url, max_size=64 << 20, open_timeout=30) as ws:
            page = Page(ws)
            page.call("Page.enable")
            page.navigate(address)
            all_loaded(page)
            grid = time.time() - started
            before = version(page)
            edited = time.time()
            shutil.copyfile(os.path.join(template, "assets", "armor_gold.png"),
                            os.path.join(template, "assets", "armor_iron.png"))
            wait_for(page, f"document.body && document.body.dataset.version !== '{before}'")
            all_loaded(page)
            edit = time.time() - edited
        print(f"{count} Forge Knights{' (placeholder)' if extra else ''}, {os.cpu_count()} cores: grid on screen "
              f"in {grid:.1f} s; after an asset edit, the page updated by itself in {edit:.1f} s")
    finally:
        preview.terminate()
        stop_browser(browser, profile)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
