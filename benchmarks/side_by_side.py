"""Runs' samples side by side, one labelled 6x6 grid each, the same seeds for every run (what "the grids opened
side by side" in RESULTS.md are):

    python benchmarks/side_by_side.py OUT.jpg RUN=LABEL [RUN=LABEL ...] [--n 36] [--seed 0] [--sample-shift S]

``--sample-shift`` applies to the flow runs only (the GANs draw in one pass).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import drawlab


def grid(images: np.ndarray, cols: int, pad: int = 2) -> Image.Image:
    """uint8 (N, H, W, C) -> one image of ``cols`` columns on white."""
    n, h, w, c = images.shape
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, im in enumerate(images):
        r, k = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = (
            im if c == 3 else np.repeat(im, 3, axis=2)
        )
    return Image.fromarray(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("runs", nargs="+", metavar="RUN=LABEL")
    ap.add_argument("--n", type=int, default=36)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-shift", type=float, help="the flow runs' ODE grid shift (default: each run's own)")
    a = ap.parse_args(argv)
    panels = []
    for spec in a.runs:
        run, _, label = spec.partition("=")
        drawer = drawlab.load(run)
        if a.sample_shift is not None and drawer.config.model.name == "flow":
            drawer.family.set_sampling(sample_shift=a.sample_shift)
        images = drawer.sample(a.n, seed=a.seed)
        g = grid(images, math.ceil(math.sqrt(a.n)))
        panel = Image.new("RGB", (g.width, g.height + 18), "white")
        panel.paste(g, (0, 18))
        ImageDraw.Draw(panel).text((4, 3), label or Path(run).name, fill="black")
        panels.append(panel)
    sheet = Image.new(
        "RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), max(p.height for p in panels)), "white"
    )
    x = 0
    for p in panels:
        sheet.paste(p, (x, 0))
        x += p.width + 8
    sheet.save(a.out, quality=90)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
