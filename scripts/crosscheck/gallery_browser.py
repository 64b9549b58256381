#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Loads `kiln serve`'s gallery in a real browser (Debian's chromium, headless) over the DevTools protocol.

Request (JSON on stdin): {"collection": URL, "token": URL, "screenshots": folder or null}.
It opens the collection page, then the token page, presses its Verify button (a plain form: the page works
without JavaScript; the script only reads the DOM) and reports what the rendered DOM holds: the token cards,
whether every image loaded with a non-zero natural size, and the verify result. With "screenshots", it saves
gallery-collection.png and gallery-token.png there.
Answer: {"cards": N, "images": [[src, width, height], …], "tokenImage": [w, h], "verify": text, "checks": [...]}.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from websockets.sync.client import connect


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next = 0

    def call(self, method, **params):
        self.next += 1
        ident = self.next
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_event(self, name, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.time())))
            if message.get("method") == name:
                return message
        raise TimeoutError(name)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def navigate(self, url):
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def start_browser():
    """Starts headless chromium on a fresh profile; returns (process, the page's DevTools URL, profile)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="kiln-chromium-")
    browser = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--window-size=1280,900",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.time() + 60
        while time.time() < deadline and port is None:
            line = browser.stderr.readline()
            if not line and browser.poll() is not None:
                raise SystemExit(f"chromium exited with {browser.returncode}")
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                port = int(found.group(1))
        if port is None:
            raise SystemExit("chromium did not open its DevTools port")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
        return browser, url, profile
    except BaseException:
        stop_browser(browser, profile)
        raise


def stop_browser(browser, profile):
    browser.kill()
    browser.wait()
    shutil.rmtree(profile, ignore_errors=True)


def answer_with(visit_page):
    """Reads the request on stdin, runs `visit_page(page, request)` in a fresh browser, writes its answer."""
    req = json.load(sys.stdin)
    browser, url, profile = start_browser()
    try:
        with connect(url, max_size=64 << 20, open_timeout=30) as ws:
            json.dump(visit_page(Page(ws), req), sys.stdout)
    finally:
        stop_browser(browser, profile)


def main():
    answer_with(visit)


def visit(page, req):
    page.call("Page.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    images_js = ("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete ? i.naturalWidth : -1,"
                 " i.complete ? i.naturalHeight : -1])")

    page.navigate(req["collection"])
    answer = {
        "cards": page.evaluate("document.querySelectorAll('#tokens .token-card').length"),
        "images": page.evaluate(images_js),
        "collectionTitle": page.evaluate("document.querySelector('h1').textContent"),
    }
    if req.get("screenshots"):
        page.screenshot(os.path.join(req["screenshots"], "gallery-collection.png"))

    page.navigate(req["token"])
    answer["tokenImage"] = page.evaluate(
        "(i => [i.naturalWidth, i.naturalHeight])(document.getElementById('token-image'))")
    answer["signers"] = page.evaluate("document.querySelectorAll('#signers tr').length - 1")
    # Press Verify: a GET form, so the browser loads the verify page as it would without JavaScript.
    page.call("Runtime.evaluate", expression="document.getElementById('verify').click()")
    page.wait_event("Page.loadEventFired")
    answer["url"] = page.evaluate("location.href")
    answer["verify"] = page.evaluate("(e => e ? e.innerText : null)(document.getElementById('verify-result'))")
    if req.get("screenshots"):
        page.screenshot(os.path.join(req["screenshots"], "gallery-token.png"))
    return answer


if __name__ == "__main__":
    main()
