"""The article's first experiment, replayed: random vs true label pairing (`--preset article-mlp`).

    python benchmarks/article_mlp.py [--out benchmarks/issue9] [--runs /tmp/article]

Trains the preset twice (its own random pairing, then --pair-labels true), evaluates both with
`drawlab evaluate` (conditional accuracy: does the class asked for come out?) and draws one picture:
per class, the class's mean training image (what pixel MSE converges to) and 6 samples of each run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import drawlab
from drawlab.cli import main as drawlab_main
from drawlab.config import preset_config
from drawlab.data import open_configured
from drawlab.device import cpu_model
from drawlab.images import grid_array


def train_and_evaluate(run: Path, pairing: str) -> dict:
    if not (run / "config.json").exists():
        t = time.perf_counter()
        assert (
            drawlab_main(
                ["train", "--preset", "article-mlp", "--pair-labels", pairing, "--no-progress", "--out", str(run)]
            )
            == 0
        )
        print(f"{pairing}: trained in {time.perf_counter() - t:.0f} s")
    assert drawlab_main(["evaluate", str(run)]) == 0
    return json.loads((run / "eval.json").read_text())


def picture(runs: dict[str, Path], out: Path, per_class: int = 6) -> Path:
    ds = open_configured(preset_config("article-mlp").data)
    means = torch.stack([ds.images[ds.labels == k].float().mean(0) for k in range(10)]).round().to(torch.uint8)
    cols = [means[:, None]]
    for run in runs.values():
        d = drawlab.load(run)
        cols.append(torch.stack([d.sample_tensor(per_class, seed=k, labels=k)[0] for k in range(10)]))
    tiles = torch.cat(cols, 1)  # (10, 1 + 2 * per_class, C, H, W)
    grid = Image.fromarray(grid_array(tiles.flatten(0, 1), nrow=tiles.shape[1], scale=4))
    canvas = Image.new("L", (grid.width, grid.height + 16), 255)
    canvas.paste(grid, (0, 16))
    draw = ImageDraw.Draw(canvas)
    tile = (grid.width - 2) // tiles.shape[1]
    for i, title in enumerate(["class mean", *[f"pair-labels {k}" for k in runs]]):
        draw.text((2 + (0 if i == 0 else (1 + (i - 1) * per_class) * tile), 2), title, fill=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="benchmarks/issue9")
    ap.add_argument("--runs", default="/tmp/article")
    a = ap.parse_args(argv)
    print(f"# article-mlp replay, {time.strftime('%Y-%m-%d %H:%M')}, cpu: {cpu_model()}")
    runs = {p: Path(a.runs) / p for p in ("random", "true")}
    rows = {p: train_and_evaluate(r, p) for p, r in runs.items()}
    print("\n| pairing | " + " | ".join(k for k in rows["true"]["metrics"] if "cond" in k or "fid" in k) + " |")
    for p, ev in rows.items():
        m = ev["metrics"]
        print(f"| {p} | " + " | ".join(str(m[k]) for k in m if "cond" in k or "fid" in k) + " |")
    print(f"picture: {picture(runs, Path(a.out) / 'article-mlp.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
