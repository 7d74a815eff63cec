"""The 2D lab's data: toy distributions in the plane, each a sampler and, where it has them, its modes.

The two mode-collapse benchmarks follow their published specifications (VEEGAN, Srivastava et al. 2017;
PacGAN, Lin et al. 2018): ``ring8``, 8 Gaussians of std 0.01 with means evenly on a circle of radius 1
(8 distinct angles 2 pi k / 8, k = 0..7: ``linspace`` with its endpoint would repeat one), and ``grid25``,
25 Gaussians of std 0.05 at {-4, -2, 0, 2, 4}^2. The other shapes have no modes; the lab scores them
by a distance between point sets (``metrics.sliced_wasserstein``). ``points`` is a user's own set (drawn
with the mouse, or read from a file): sampling it picks its points with replacement plus a little noise.

Every draw takes a ``torch.Generator``: the same seed gives the same points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

Sampler = Callable[[int, torch.Generator], torch.Tensor]  # (n, gen) -> points (n, 2), float32


@dataclass(frozen=True)
class Dist:
    """A 2D distribution: its sampler, its modes (K, 2) and their std (None where it has none), the
    square it lives in (half-width ``extent``) and one line saying what it is."""

    name: str
    sample: Sampler
    extent: float
    summary: str
    modes: torch.Tensor | None = None
    sigma: float | None = None


def _mixture(means: torch.Tensor, sigma: float) -> Sampler:
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        k = torch.randint(0, len(means), (n,), generator=gen)
        return means[k] + sigma * torch.randn((n, 2), generator=gen)

    return sample


def ring_means(k: int = 8, radius: float = 1.0) -> torch.Tensor:
    """``k`` distinct means evenly on a circle (k, 2): angles 2 pi i / k, i = 0..k-1."""
    a = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    return (radius * torch.stack([a.cos(), a.sin()], 1)).float()


def grid_means(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """``side``^2 means on a square grid centred on 0 (side^2, 2): {-4, -2, 0, 2, 4}^2 by default."""
    c = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(c, c)


def _swiss_roll(n: int, gen: torch.Generator) -> torch.Tensor:
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=gen))
    x = torch.stack([t * t.cos(), t * t.sin()], 1) / 10
    return x + 0.05 * torch.randn((n, 2), generator=gen)


def _moons(n: int, gen: torch.Generator) -> torch.Tensor:
    t = math.pi * torch.rand(n, generator=gen)
    upper = torch.rand(n, generator=gen) < 0.5
    x = torch.where(upper[:, None], torch.stack([t.cos(), t.sin()], 1), torch.stack([1 - t.cos(), 0.5 - t.sin()], 1))
    return (x - torch.tensor([0.5, 0.25])) + 0.05 * torch.randn((n, 2), generator=gen)


def _spirals(n: int, gen: torch.Generator) -> torch.Tensor:
    t = torch.sqrt(torch.rand(n, generator=gen)) * 3 * math.pi
    arm = torch.where(torch.rand(n, generator=gen) < 0.5, 1.0, -1.0)
    x = arm[:, None] * torch.stack([t * t.cos(), t * t.sin()], 1) / (3 * math.pi) * 1.5
    return x + 0.04 * torch.randn((n, 2), generator=gen)


def _checkerboard(n: int, gen: torch.Generator) -> torch.Tensor:
    # 4 x 4 squares of side 0.5 on [-1, 1]^2, half of them filled
    u = torch.rand((n, 2), generator=gen) * 0.5
    cell = torch.randint(0, 8, (n,), generator=gen)
    row = cell // 2
    col = 2 * (cell % 2) + (row % 2)
    return torch.stack([col, row], 1).float() * 0.5 - 1 + u


def _line(n: int, gen: torch.Generator) -> torch.Tensor:
    t = 2 * torch.rand(n, generator=gen) - 1
    return torch.stack([t, 0.5 * t], 1) + 0.02 * torch.randn((n, 2), generator=gen)


DISTS: dict[str, Dist] = {
    d.name: d
    for d in (
        Dist("ring8", _mixture(ring_means(), 0.01), 1.5, "8 Gaussians on a unit circle, std 0.01", ring_means(), 0.01),
        Dist("grid25", _mixture(grid_means(), 0.05), 6.0, "25 Gaussians at {-4..4}^2, std 0.05", grid_means(), 0.05),
        Dist("swissroll", _swiss_roll, 1.6, "a swiss roll (a spiral band)"),
        Dist("moons", _moons, 1.6, "two interleaved half moons"),
        Dist("spirals", _spirals, 1.8, "two spiral arms"),
        Dist("checkerboard", _checkerboard, 1.3, "8 squares of a checkerboard, uniform in each"),
        Dist("line", _line, 1.3, "points on a line segment"),
    )
}


def points_dist(points: torch.Tensor, sigma: float = 0.02, name: str = "points") -> Dist:
    """A user's own point set (N, 2) as a distribution: its points with replacement plus noise of std
    ``sigma``; DataError when there are fewer than 2 points or a value is not finite."""
    p = torch.as_tensor(points, dtype=torch.float32)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
        raise DataError(f"a drawn distribution needs at least 2 points (x, y), got shape {tuple(p.shape)}")
    if not torch.isfinite(p).all():
        raise DataError("a drawn distribution's points must be finite numbers")

    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        return p[torch.randint(0, len(p), (n,), generator=gen)] + sigma * torch.randn((n, 2), generator=gen)

    extent = float(p.abs().max()) * 1.25 + 0.1
    return Dist(name, sample, extent, f"{len(p)} points of the user's own")


def points_from_png(path: str | Path, extent: float = 1.0) -> torch.Tensor:
    """The dark pixels of a PNG as points (N, 2) in [-extent, extent]^2 (y up); DataError with one line when
    the file is missing, not an image, or has no dark pixel."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path).convert("L")
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except (UnidentifiedImageError, OSError):
        raise DataError(f"{path} is not an image: give a PNG whose dark pixels are the points") from None
    a = torch.from_numpy(np.asarray(img, dtype=np.float32))
    ys, xs = torch.nonzero(a < 128, as_tuple=True)
    if len(xs) < 2:
        raise DataError(f"{path} has fewer than 2 dark pixels: draw the points in black on white")
    side = max(img.width, img.height)
    x = (2 * (xs.float() + 0.5) - img.width) / side * extent
    y = -(2 * (ys.float() + 0.5) - img.height) / side * extent
    return torch.stack([x, y], 1)


def get_dist(name: str) -> Dist:
    """The distribution called ``name``; DataError naming the known ones."""
    if name not in DISTS:
        raise DataError(f"unknown distribution {name!r}: use one of {', '.join(DISTS)} (or --points FILE.png)")
    return DISTS[name]
