"""Recipes on data nobody tuned them on: `drawlab train --data folder:PATH` with no preset (the recipe is
chosen from what the folder holds, drawlab/recipe.py) at 5 and 30 CPU minutes, ONE thread per run, two side
by side, each scored by `drawlab evaluate` beside that folder's own real-data floor.

    python benchmarks/heldout.py --out /tmp/heldout 5 30          # MINUTES..., restartable
    python benchmarks/heldout.py --out /tmp/heldout --table       # the table of what is done

The folders, kept out of every tuning decision (the presets were tuned on MNIST digits and CelebA faces):
  icons    the Oxygen icon theme's 64x64 PNGs (Debian: oxygen-icon-theme; 823 RGBA icons, one flat folder)
  fashion  Fashion-MNIST's first 10,000 training images as PNGs in one folder per class (Debian:
           dataset-fashion-mnist)
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ladder import metric
from runner import Job, run_queue

ICONS = Path("/usr/share/icons/oxygen/base/64x64")
FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")
KINDS = ("fid", "precision", "recall", "coverage", "memorised", "cond-acc")


def make_icons(dest: Path) -> Path:
    """Every PNG under the theme's 64x64 folder, flat (its category folders would be read as classes)."""
    if not dest.exists():
        tmp = dest.with_suffix(".part")
        tmp.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(sorted(ICONS.rglob("*.png"))):
            shutil.copyfile(p, tmp / f"{i:04d}-{p.parent.name}-{p.name}")
        tmp.rename(dest)
    return dest


def make_fashion(dest: Path, n: int = 10_000) -> Path:
    """The first ``n`` training images of Fashion-MNIST as PNGs, one folder per class."""
    if not dest.exists():
        with gzip.open(FASHION / "train-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n]
        with gzip.open(FASHION / "train-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
        tmp = dest.with_suffix(".part")
        for k in FASHION_CLASSES:
            (tmp / k).mkdir(parents=True, exist_ok=True)
        for i, (im, k) in enumerate(zip(images, labels)):
            Image.fromarray(im, "L").save(tmp / FASHION_CLASSES[k] / f"{i:05d}.png")
        tmp.rename(dest)
    return dest


def table(out: Path) -> str:
    head = ["data", "recipe chosen", "minutes", "steps", "FID (real data)", "precision", "recall", "coverage"]
    head += ["memorised", "cond. acc.", "verdicts"]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for ev in sorted(
        (out / "runs").glob("*/eval.json"), key=lambda p: (p.parent.name.split("-")[0], p.stat().st_mtime)
    ):
        run = ev.parent
        rec, cfg = json.loads(ev.read_text()), json.loads((run / "config.json").read_text())["train"]
        fid = metric(rec, "fid")
        cells = [run.name.split("-")[0], str(cfg["preset"]), f"{cfg['minutes']:g}", f"{rec['step']:,}"]
        cells.append(f"{fid['value']:.1f} ({fid['real']:.2f})" if fid else "-")
        for k in KINDS[1:]:
            m = metric(rec, k)
            pct = k in ("memorised", "cond-acc")
            cells.append("-" if m is None else f"{100 * m['value']:.1f}%" if pct else f"{m['value']:.2f}")
        vfile = run / "monitor" / "verdicts.jsonl"
        said = [json.loads(line)["kind"] for line in vfile.read_text().splitlines()] if vfile.exists() else []
        cells.append(", ".join(said) or "none")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("minutes", nargs="*", type=float, help="budgets, e.g. 5 30")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", nargs="+", default=["icons", "fashion"], choices=["icons", "fashion"])
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args(argv)
    if not a.table:
        folders = {"icons": make_icons(a.out / "data" / "icons"), "fashion": make_fashion(a.out / "data" / "fashion")}
        jobs = [
            Job(a.out / "runs" / f"{name}-{m:g}min", ["--data", f"folder:{folders[name]}"], ["--minutes", f"{m:g}"])
            for m in a.minutes
            for name in a.data
        ]
        run_queue(a.out / "logs", jobs, parallel=a.parallel)
    text = table(a.out)
    (a.out / "heldout.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
