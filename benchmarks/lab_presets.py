"""The 2D lab's lessons over seeds, and its speed: steps per second of the default MLPs and how fast a
frame of the page is made.

    python benchmarks/lab_presets.py --seeds 0,1,2 --out /tmp/labbench

Prints the CPU model, then a markdown table per lesson (median and range over seeds of modes captured,
modes reached, high-quality share, reverse KL, SWD; how many seeds show the lesson) and the latency lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import matmul_peak
from drawlab.device import cpu_model


def lessons(seeds: list[int], out: Path) -> list[str]:
    from drawlab.lab.headless import train
    from drawlab.lab.presets import LESSONS
    from drawlab.lab.settings import Settings, replace

    rows = [
        "| lesson | seeds showing it | modes captured | modes reached | high quality | reverse KL | SWD | steps/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, les in LESSONS.items():
        if les.dirac is not None:
            continue
        got = []
        for seed in seeds:
            s = replace(Settings(), **{**les.settings, "seed": seed})
            got.append(train(s, out / f"{name}-s{seed}", frames=0, say=lambda *_: None))
        shown = sum(bool(les.expect(o)) for o in got)

        def med(key: str, fmt: str, sub: str | None = "metrics", got: list = got) -> str:
            vals = [o[sub][key] if sub else o[key] for o in got]
            return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}-{fmt.format(max(vals))})"

        rows.append(
            f"| {name} | {shown}/{len(got)} ({les.expect_words}) | {med('modes', '{:.0f}')} | "
            f"{med('reached', '{:.0f}', None)} | {med('high_quality', '{:.1%}')} | {med('reverse_kl', '{:.2f}')} | "
            f"{med('swd', '{:.3f}')} | {statistics.median(o['steps_per_second'] for o in got):.0f} |"
        )
    return rows


def latency() -> list[str]:
    from drawlab.lab.game import Lab
    from drawlab.lab.settings import Settings
    from drawlab.lab.view import view

    lab = Lab(Settings(eval_every=10**6))
    lab.step(20)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        lab.step(200)
        times.append(200 / (time.perf_counter() - t))
    made = []
    for _ in range(10):
        t = time.perf_counter()
        body = json.dumps(view(lab)).encode()
        made.append(time.perf_counter() - t)
    return [
        f"default MLPs ({lab.s.g_depth} x {lab.s.g_width}, batch {lab.s.batch}), no evaluations: "
        f"{statistics.median(times):.0f} steps/s "
        f"(range {min(times):.0f}-{max(times):.0f}, 5 x 200 steps)",
        f"one frame of the page (view + JSON, {len(body) / 1024:.0f} KiB): median {1000 * statistics.median(made):.1f} ms, "
        f"i.e. up to {1 / statistics.median(made):.0f} frames/s for one viewer (every viewer shares it)",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    print(f"# drawlab 2D lab lessons and latency, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"cpu: {cpu_model()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}; "
        f"measured fp32 matmul peak {matmul_peak(torch.device('cpu'), torch.float32):.0f} GFLOP/s"
    )
    for line in latency():
        print(line)
    for line in lessons([int(s) for s in a.seeds.split(",")], a.out):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
