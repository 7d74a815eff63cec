"""Classifier-free guidance on part of the sampling path only (``--guidance-low/--guidance-high``; Kynkaanniemi et
al. 2024): what each interval buys in quality and what it costs, on trained flow (or ddpm) runs.

    python benchmarks/guidance_interval.py RUN [RUN ...] --out /tmp/gi --settings 1 1.25 2:0.5-0.6 2:0.7-0.8
    python benchmarks/guidance_interval.py RUN --out /tmp/gi --time --settings 1 1.25 2:0.5-0.6   # 1,000 images
    python benchmarks/guidance_interval.py --out /tmp/gi --table

A setting is S (guidance S at every step) or S:LO-HI (guidance S where the noise level, 1 pure noise, is in
[LO, HI]; the plain conditional elsewhere). Each (run, setting) is scored by `drawlab evaluate` on a copy of
the run (evaluate writes RUN/eval.json, which a benchmark's table may read) with ONE thread, ``--parallel`` at a
time. ``--time`` draws 1,000 images with the run's steps on every thread of this machine (3 repeats, the median)
and counts the network's passes per image.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from drawlab.config import level_text
from ladder import metric
from runner import DRAWLAB

SKIP = ("snapshots", "samples", "tb", "eval", "monitor", "eval.json")  # what a copy to evaluate needs not


def parse_setting(text: str) -> tuple[float, float, float]:
    """'2:0.5-0.6' -> (2.0, 0.5, 0.6); '1.25' -> (1.25, 0.0, 1.0)."""
    s, _, interval = text.partition(":")
    lo, hi = (float(v) for v in interval.split("-")) if interval else (0.0, 1.0)
    return float(s), lo, hi


def options(setting: tuple[float, float, float]) -> list[str]:
    s, lo, hi = setting
    return ["--guidance", f"{s:g}", "--guidance-low", f"{lo:g}", "--guidance-high", f"{hi:g}"]


def tag(setting: tuple[float, float, float]) -> str:
    s, lo, hi = setting
    return f"cfg{s:g}" + (f"i{level_text(lo)}-{level_text(hi)}" if (lo, hi) != (0.0, 1.0) else "")


def copy_name(run: Path, setting: tuple[float, float, float]) -> str:
    """The evaluated copy's folder: the run's parent and name (two runs called alike do not meet) and the tag."""
    return f"{run.resolve().parent.name}--{run.name}-{tag(setting)}"


def evaluate_all(runs: list[Path], settings: list[str], out: Path, parallel: int) -> None:
    """Copy each run once per setting and evaluate the copies, ``parallel`` at a time (restartable)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    queue: list[tuple[Path, list[str]]] = []
    for run in runs:
        for text in settings:
            setting = parse_setting(text)
            copy = out / "runs" / copy_name(run, setting)
            if (copy / "eval.json").is_file():
                continue
            if not copy.is_dir():  # copied whole, or not at all: a cut copy is never evaluated
                part = copy.with_name(copy.name + ".part")
                shutil.rmtree(part, ignore_errors=True)
                shutil.copytree(run, part, ignore=lambda d, names: [n for n in names if n in SKIP])
                part.rename(copy)
            queue.append((copy, [DRAWLAB, "evaluate", str(copy), *options(setting)]))
    running: list[tuple[subprocess.Popen, Path]] = []
    (out / "logs").mkdir(parents=True, exist_ok=True)
    while queue or running:
        for p, copy in list(running):
            if p.poll() is not None:
                running.remove((p, copy))
                print(time.strftime("[%H:%M:%S] ") + f"{copy.name}: exit {p.returncode}", flush=True)
        while queue and len(running) < parallel:
            copy, cmd = queue.pop(0)
            log = open(out / "logs" / f"{copy.name}.txt", "w")
            running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), copy))
        time.sleep(2)


def time_all(runs: list[Path], settings: list[str], out: Path, n: int = 1000, repeats: int = 3) -> None:
    """Seconds to draw ``n`` images on every thread, and network passes per image, per (run, setting)."""
    import torch

    import drawlab
    from drawlab.device import cpu_model

    rows = []
    for run in runs:
        for text in settings:
            s, lo, hi = parse_setting(text)
            d = drawlab.load(run, guidance=s, guidance_low=lo, guidance_high=hi)
            seen: list[int] = []
            hook = d.family.sampler().register_forward_hook(lambda m, a, o, seen=seen: seen.append(a[0].shape[0]))
            d.sample_tensor(n, seed=0)
            hook.remove()
            passes = sum(seen) / n
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                d.sample_tensor(n, seed=0)
                times.append(time.perf_counter() - t0)
            row = {"run": run.name, "setting": tag((s, lo, hi)), "passes": passes, "seconds": statistics.median(times)}
            row |= {"all": times, "threads": torch.get_num_threads(), "cpu": cpu_model(), "n": n}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (out / "times.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))  # this machine's, this time


def table(out: Path) -> str:
    """Markdown: one row per evaluated copy (the metrics evaluate recorded), then the times measured."""
    lines = [
        "| run | setting | FID | precision | recall | coverage | cond. acc. | CAS | sampling (CPU-s / 1k) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for ev in sorted((out / "runs").glob("*/eval.json")):
        rec = json.loads(ev.read_text())
        run, _, setting = ev.parent.name.rpartition("-cfg")

        def cell(kind: str, pct: bool = False, rec: dict = rec) -> str:
            e = metric(rec, kind)
            return "-" if e is None else f"{100 * e['value']:.1f}%" if pct else f"{e['value']:.3g}"

        cost = (rec.get("protocol", {}).get("sampling") or {}).get("cpu_seconds_per_1k")
        lines.append(
            f"| {run} | cfg{setting} | {cell('fid')} | {cell('precision')} | {cell('recall')} | {cell('coverage')} "
            f"| {cell('cond-acc', True)} | {cell('cas', True)} | {'-' if cost is None else f'{cost:.0f}'} |"
        )
    times = out / "times.jsonl"
    if times.is_file():
        lines += ["", "| run | setting | network passes per image | seconds for 1,000 (median of 3) | threads |"]
        lines += ["| --- | --- | ---: | ---: | ---: |"]
        for r in map(json.loads, times.read_text().splitlines()):
            lines.append(f"| {r['run']} | {r['setting']} | {r['passes']:g} | {r['seconds']:.1f} | {r['threads']} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--settings", nargs="+", default=["1", "1.25"])
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--time", action="store_true", help="time 1,000 images per setting instead of evaluating")
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.table:
        print(table(a.out))
    elif a.time:
        time_all(a.runs, a.settings, a.out)
    else:
        evaluate_all(a.runs, a.settings, a.out, a.parallel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
