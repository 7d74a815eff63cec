"""Render a self-contained HTML file in a real headless Chromium (Debian's `chromium`) and report on it.

Test helper, not part of the package: `render(html, png)` screenshots the page and says whether its
images loaded, whether it came out blank, and whether it tried to reach the network. Uses playwright
with the system browser only (`playwright install` is never needed); CI's `.ci/run` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PIL import Image, ImageStat

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 30_000
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

_BROKEN_JS = """() => Array.from(document.images)
    .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 60))"""


def chromium_path() -> str:
    """The browser to drive: $DRAWLAB_CHROMIUM if set, else Debian's /usr/bin/chromium; fails loudly if absent."""
    exe = os.environ.get("DRAWLAB_CHROMIUM") or CHROMIUM
    if not os.access(exe, os.X_OK):
        raise FileNotFoundError(
            f"no Chromium at {exe}: run `apt-get install chromium` "
            "(CI's .ci/run does), or point $DRAWLAB_CHROMIUM at a chromium binary"
        )
    return exe


def is_blank(png: Path) -> bool:
    """True if the image is (nearly) one colour: every channel's standard deviation below 1."""
    with Image.open(png) as im:
        return max(ImageStat.Stat(im.convert("RGB")).stddev) < 1.0


def render(html: Path, png: Path, width: int = 1200) -> dict[str, Any]:
    """Open `html` (file://) in headless Chromium at `width` px, save a full-page screenshot to `png`.

    Returns {"images": number of <img>, "broken": src[:60] of each <img> not loaded (incomplete or
    naturalWidth 0), "blank": screenshot is (nearly) one colour, "title": document.title,
    "text": document.body.innerText, "requests": every URL the page tried to fetch that is not
    file: or data: (these are aborted, so nothing leaves the machine and nothing waits on a network)}.
    Every step times out after 30 s.
    """
    from playwright.sync_api import sync_playwright  # imported here so that importing this module is cheap

    exe = chromium_path()
    requests: list[str] = []
    png.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:  # playwright gives the browser a fresh temporary --user-data-dir itself
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=ARGS, timeout=TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 800}, device_scale_factor=1)
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else requests.append(r.url))
            page.route(lambda url: not url.startswith(("file:", "data:")), lambda route: route.abort())
            page.goto(Path(html).resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
            page.screenshot(path=str(png), full_page=True, timeout=TIMEOUT_MS)
            info = {
                "images": page.evaluate("() => document.images.length"),
                "broken": page.evaluate(_BROKEN_JS),
                "title": page.title(),
                "text": page.evaluate("() => document.body ? document.body.innerText : ''"),
            }
        finally:
            browser.close()
    return {**info, "blank": is_blank(png), "requests": requests}
