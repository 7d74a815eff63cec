"""A screenshot of the explorer after moving sliders, in Debian's chromium (for the README and the issue).

    python benchmarks/explorer_screenshot.py OUT.png RUN [RUN ...] [--run-index I] [--seed S]

Serves the runs on a free port, opens the page, sets the seed, moves the first principal-direction
slider to +2 and the interpolation slider half way to seed S+1, waits for the picture, and saves the page.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from browser import ARGS, chromium_path
from drawlab.serve import Explorer, make_server

MOVE = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--run-index", type=int, default=0)
    ap.add_argument("--seed", type=int, default=4)
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    srv, token = make_server(Explorer(a.runs, k=6), "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/?token={token}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1180, "height": 860})
        page.goto(url, wait_until="load")
        page.wait_for_function("() => document.getElementById('image').dataset.shown >= '1'")

        def settle(action) -> None:
            n = int(page.get_attribute("#image", "data-shown"))
            action()
            page.wait_for_function(f"() => +document.getElementById('image').dataset.shown > {n}")
            page.wait_for_timeout(300)

        if a.run_index:
            settle(lambda: page.select_option("#run", str(a.run_index)))
        settle(lambda: page.eval_on_selector("#seed", MOVE, str(a.seed)))
        settle(lambda: page.eval_on_selector("#dir0", MOVE, "2"))
        settle(lambda: page.eval_on_selector("#seed2", MOVE, str(a.seed + 1)))
        settle(lambda: page.eval_on_selector("#t", MOVE, "0.5"))
        page.screenshot(path=a.out, full_page=True)
        browser.close()
    srv.shutdown()
    print(f"screenshot: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
