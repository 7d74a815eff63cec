"""The 2D lab's page in a real browser (Debian's chromium): what it shows while training, and how fast.

    python benchmarks/lab_page.py --out benchmarks/issue20 [--seconds 10]

Serves the lab (default settings: ring8, 3 x 128 MLPs, batch 256) on the loopback, opens the page, presses
Play, and measures over --seconds the steps per second the server trains while the page watches and the
frames per second the page draws (its /api/frame requests). Then it takes the screenshots the issue asks
for, each a step of a learner's session: playing (two seconds apart: lab-play-a.png, lab-play-b.png), a
live change of D's learning rate (lab-live-change.png), paused (lab-paused.png), rewound and forked with
unroll=3 beside it (lab-fork.png), a distribution drawn with the mouse, trained (lab-drawn.png), a flow
on the two moons with its field and particles (lab-flow.png), the ring-collapse lesson beside the same with
packing (lab-collapse-vs-pack.png), and the grid-wgan-gp lesson's critic as contour lines with the Dirac-GAN's
path (lab-critic-dirac.png).
Prints the CPU, the rates, and every URL the page asked for that is not the lab's own (must be none).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from bench_speed import matmul_peak
from browser import ARGS, TIMEOUT_MS, chromium_path
from drawlab.device import cpu_model
from drawlab.lab.server import LabState, make_server
from drawlab.lab.settings import Settings, replace

STEP_JS = "() => Number((document.getElementById('meta').textContent.match(/step (\\d+)/) || [0, -1])[1])"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"# drawlab 2D lab page in Chromium, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"cpu: {cpu_model()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}; "
        f"measured fp32 matmul peak {matmul_peak(torch.device('cpu'), torch.float32):.0f} GFLOP/s"
    )
    state = LabState(replace(Settings(), steps=100_000))
    srv, tok = make_server(state, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    outside: list[str] = []
    frames: list[float] = []

    def seen(url: str) -> None:
        if url.startswith(f"{base}/api/frame?run=0"):
            frames.append(time.perf_counter())
        elif not url.startswith((base, "data:")):
            outside.append(url)

    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=ARGS, timeout=TIMEOUT_MS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda r: seen(r.url))
            page.goto(f"{base}/?token={tok}", wait_until="load")
            page.wait_for_selector("#plane0")
            page.click("#play")
            page.wait_for_function(f"() => ({STEP_JS})() > 20")
            s0, t0, n0 = page.evaluate(STEP_JS), time.perf_counter(), len(frames)
            page.wait_for_timeout(a.seconds * 1000)
            s1, t1, n1 = page.evaluate(STEP_JS), time.perf_counter(), len(frames)
            gaps = [b - q for q, b in zip(frames[n0:n1], frames[n0 + 1 : n1])]
            print(
                f"while the page watches: {(s1 - s0) / (t1 - t0):.0f} steps/s (step {s0} -> {s1} in {t1 - t0:.1f} s); "
                f"page draws {(n1 - n0) / (t1 - t0):.1f} frames/s (median gap {1000 * statistics.median(gaps):.0f} ms)"
            )
            page.screenshot(path=str(a.out / "lab-play-a.png"), full_page=True)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(a.out / "lab-play-b.png"), full_page=True)
            print(f"playing: step {s1} then {page.evaluate(STEP_JS)} two seconds later")
            page.fill("#s_lr_d", "0.01")
            page.dispatch_event("#s_lr_d", "change")
            page.wait_for_timeout(3000)
            page.screenshot(path=str(a.out / "lab-live-change.png"), full_page=True)
            print(f"live change: D's learning rate now {state.runs[0].opt_d.param_groups[0]['lr']}")
            page.click("#pause")
            page.wait_for_function("() => document.getElementById('meta').textContent.includes('paused')")
            held = page.evaluate(STEP_JS)
            page.screenshot(path=str(a.out / "lab-paused.png"), full_page=True)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(a.out / "lab-paused-b.png"), full_page=True)
            print(f"paused at step {held} (lab-paused.png); two seconds later step {page.evaluate(STEP_JS)} (-b)")
            page.evaluate(
                "() => { const r = document.getElementById('rewindStep'); r.value = Math.floor(r.max / 2); r.oninput(); }"
            )
            page.fill("#changes", "unroll=3")
            page.click("#fork")
            page.wait_for_selector("#plane1")
            page.click("#play")
            page.wait_for_timeout(4000)
            page.click("#pause")
            page.wait_for_timeout(1200)
            page.screenshot(path=str(a.out / "lab-fork.png"), full_page=True)
            print(f"forked at the kept state halfway; run 0 at {page.evaluate(STEP_JS)}, beside it the unrolled fork")
            page.click("#closeB")
            page.click("#draw")
            page.evaluate("() => window.scrollTo(0, 0)")
            box = page.locator("#plane0").bounding_box()
            assert box is not None
            cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.3
            for arc in (0.0, math.pi):  # a smile and a frown: two arcs of a drawn "S"
                page.mouse.move(cx + r * math.cos(arc), cy - r / 2 + r * math.sin(arc) / 2)
                page.mouse.down()
                for k in range(60):
                    th = arc + math.pi * k / 59
                    page.mouse.move(
                        cx + r * math.cos(th),
                        cy - r / 2 + (1 if arc else -1) * r * math.sin(th) / 2 + (r if arc else 0),
                    )
                page.mouse.up()
            page.click("#trainDrawn")
            page.click("#play")
            page.wait_for_timeout(8000)
            page.click("#pause")
            page.wait_for_timeout(1200)
            page.screenshot(path=str(a.out / "lab-drawn.png"), full_page=True)
            print(
                f"drawn: {page.text_content('#drawn')}, trained to step {page.evaluate(STEP_JS)}; errors: {page.text_content('#error')!r}"
            )
            page.select_option("#s_model", "flow")
            page.select_option("#s_dist", "moons")
            page.click("#reset")
            page.click("#play")
            page.wait_for_timeout(6000)
            page.click("#pause")
            page.wait_for_timeout(1500)  # the particles move on while paused
            page.screenshot(path=str(a.out / "lab-flow.png"), full_page=True)
            print(f"flow on moons: step {page.evaluate(STEP_JS)}; errors: {page.text_content('#error')!r}")
            page.select_option("#lesson", "ring-collapse")  # a lesson, then the same with packing beside it
            page.wait_for_function("() => document.getElementById('title0').textContent.includes('on ring8')")
            page.fill("#changes", "pack=4")
            page.click("#compare")
            page.wait_for_selector("#plane1")
            page.click("#play")
            page.wait_for_function(f"() => ({STEP_JS})() >= 1400", timeout=120_000)
            page.click("#pause")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(a.out / "lab-collapse-vs-pack.png"), full_page=True)
            print(
                f"ring-collapse beside pack=4: step {page.evaluate(STEP_JS)}; verdicts: "
                f"{page.text_content('#verdicts0')!r} | {page.text_content('#verdicts1')!r}"
            )
            page.click("#closeB")
            page.select_option("#lesson", "grid-wgan-gp")  # an unbounded critic, drawn as contour lines
            page.wait_for_function("() => document.getElementById('title0').textContent.includes('wgan-gp')")
            page.click("#play")
            page.wait_for_function(f"() => ({STEP_JS})() >= 600", timeout=120_000)
            page.click("#pause")
            page.select_option("#diracLesson", "dirac")
            page.wait_for_timeout(16000)  # the Dirac-GAN's path drawn to its end
            page.screenshot(path=str(a.out / "lab-critic-dirac.png"), full_page=True)
            print(f"grid-wgan-gp at step {page.evaluate(STEP_JS)}: {page.text_content('#fieldKey0')!r}")
            print(f"Dirac-GAN: {page.text_content('#diracVerdict')!r}")
            browser.close()
    finally:
        state.stop()
        srv.shutdown()
        srv.server_close()
    print(f"requests that left the lab: {outside or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
