"""Quality against sampling steps: one trained flow or ddpm run sampled by each of its samplers (flow: euler,
heun; ddpm: ddim, ancestral ddpm) at 1 .. 100 steps, each scored by the in-training probe's metrics (FID,
precision, recall, cond. acc. in the data's feature net; the same fixed noise and real set every time).

    python benchmarks/nfe_curve.py /tmp/rung7/runs/flow-5min-s0 /tmp/rung7/runs/ddpm-v-5min-s0 --out /tmp/nfe
    python benchmarks/nfe_curve.py --out /tmp/nfe --table          # table + figure of what is done

Restartable: OUT/points.jsonl keeps every point measured. The x axis of the figure is network evaluations
per image (heun takes two a step; a guided step evaluates conditional and unconditional in one batch, so
guidance doubles the cost of a step but not its count). Cost: CPU-seconds per 1,000 images at that setting.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import torch

STEPS = (1, 2, 5, 10, 20, 50, 100)


def evaluations(sampler: str, steps: int) -> int:
    """Network evaluations per image (guidance aside)."""
    return 2 * steps if sampler == "heun" else steps


def measure(run: Path, steps: list[int], n: int, out: Path) -> None:
    import drawlab
    from drawlab.data import run_data
    from drawlab.metrics.probe import FIDProbe

    points = out / "points.jsonl"
    done = {(p["run"], p["sampler"], p["steps"]) for p in read(points)}
    d = drawlab.load(run)
    fam = d.family
    ds, root = run_data(d.config.data)
    probe = FIDProbe(ds, n, root, torch.device("cpu"))
    threads = torch.get_num_threads()
    for sampler in fam.samplers:
        for k in steps:
            if (run.name, sampler, k) in done:
                continue
            fam.set_sampling(sample_steps=k, sampler=sampler)
            t0 = time.perf_counter()
            values = probe(fam)
            secs = time.perf_counter() - t0
            rec = {
                "run": run.name,
                "model": fam.name,
                "sampler": sampler,
                "steps": k,
                "evaluations": evaluations(sampler, k),
                "guidance": fam.cfg.guidance,
                "n": probe.n,
                "cpu_seconds_per_1k": round(secs * threads * 1000 / probe.n, 1),
                **{short(key): v for key, v in values.items()},
            }
            with points.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)


def short(key: str) -> str:
    """'fid2.5k-mnist-5k-cnn@03599f-euler20' -> 'fid'; its '_floor' kept."""
    m = re.match(r"([a-z-]+?)\d", key)
    base = m.group(1) if m else key
    return base + ("_floor" if key.endswith("_floor") else "")


def read(points: Path) -> list[dict]:
    return [json.loads(line) for line in points.read_text().splitlines() if line.strip()] if points.is_file() else []


def table(out: Path) -> str:
    pts = read(out / "points.jsonl")
    if not pts:
        return "(nothing measured yet)"
    head = ["run", "sampler", "steps", "evaluations", "FID", "precision", "recall", "cond. acc.", "CPU-s / 1k"]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for p in sorted(pts, key=lambda p: (p["run"], p["sampler"], p["steps"])):
        cells = [p["run"], p["sampler"], str(p["steps"]), str(p["evaluations"]), f"{p['fid']:.1f}"]
        cells += [f"{p.get(k, float('nan')):.3f}" for k in ("precision", "recall")]
        cells += [f"{100 * p.get('cond-acc', float('nan')):.1f}%", f"{p['cpu_seconds_per_1k']:.0f}"]
        rows.append("| " + " | ".join(cells) + " |")
    floor = next((p["fid_floor"] for p in pts if "fid_floor" in p), None)
    if floor is not None:
        rows.append(f"\nreal-data floor (FID between two real sets of the same n): {floor:.1f}")
    return "\n".join(rows)


def figure(out: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = read(out / "points.jsonl")
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    for key in sorted({(p["run"], p["sampler"]) for p in pts}):
        line = sorted((p["evaluations"], p["fid"]) for p in pts if (p["run"], p["sampler"]) == key)
        ax.plot([x for x, _ in line], [y for _, y in line], "o-", label=f"{key[0]}: {key[1]}")
    floor = next((p["fid_floor"] for p in pts if "fid_floor" in p), None)
    if floor is not None:
        ax.axhline(floor, color="grey", ls=":", label="real data")
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    most = max(p["evaluations"] for p in pts)
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500) if t <= most]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_locator(FixedLocator([10, 20, 50, 100, 200, 500]))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("network evaluations per image")
    ax.set_ylabel(f"FID (feature net of the data, n = {pts[0]['n']:,})")
    ax.set_title("Quality against sampling steps")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "nfe_curve.png"
    fig.savefig(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", default=",".join(map(str, STEPS)), help="comma-separated, default %(default)s")
    ap.add_argument("--n", type=int, default=1000, help="images per point (default %(default)s)")
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    if not a.table:
        for run in a.runs:
            measure(run, [int(s) for s in a.steps.split(",")], a.n, a.out)
    text = table(a.out)
    (a.out / "nfe_curve.md").write_text(text + "\n")
    print(text)
    fig = figure(a.out)
    if fig is not None:
        print(f"figure: {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
