"""The 2D lab's scores, as the mode-collapse papers count them (on 2,500 generated points):

- a point is *high quality* when it lies within 3 std of its nearest mode (VEEGAN, Srivastava et al. 2017);
- a mode is *captured* when it is the nearest mode of at least one high-quality point (VEEGAN);
- a mode is *reached* (drawlab's, for the verdicts) when at least 1% of the points are nearest it and within
  half the distance between the two closest modes: near it, if not within 3 std;
- *reverse KL* (PacGAN, Lin et al. 2018): KL(p || u) = sum_k p_k log(p_k K), where p is the histogram of
  the high-quality points over the K modes and u is uniform (the true mixture's weights): 0 when every
  mode gets its share, log K when all points sit on one mode;
- the *sliced Wasserstein distance* between the generated and real point sets, for any shape, modes or
  not: sqrt(mean over unit directions w of mean_i (sort(x.w)_i - sort(y.w)_i)^2) (Rabin et al. 2011),
  with a fixed set of directions so that the same two sets always score the same;
- the *swing* of G's points (drawlab's, for the oscillation verdict): how far the centre of G's training
  batches travels back and forth along its main axis over the last steps, in units of the data's spread,
  and how many times (``swing``).
"""

from __future__ import annotations

import math

import torch

N_EVAL = 2500  # points scored per evaluation, as VEEGAN and PacGAN count them


def nearest_modes(x: torch.Tensor, modes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For points (N, 2) and modes (K, 2): each point's nearest mode (N,) int64 and its distance (N,)."""
    d = torch.cdist(x.double(), modes.double())
    dist, idx = d.min(1)
    return idx, dist.float()


def mode_scores(x: torch.Tensor, modes: torch.Tensor, sigma: float) -> dict[str, float]:
    """``modes`` (count captured), ``high_quality`` (share in [0, 1]) and ``reverse_kl`` (nats, >= 0; the
    collapse of the high-quality points onto few modes) of points ``x`` (N, 2)."""
    idx, dist = nearest_modes(x, modes)
    good = dist <= 3 * sigma
    k = len(modes)
    counts = torch.bincount(idx[good], minlength=k).double()
    total = counts.sum()
    if total == 0:
        return {"modes": 0.0, "high_quality": 0.0, "reverse_kl": math.log(k)}
    p = counts / total
    nz = p > 0
    rkl = float((p[nz] * (p[nz] * k).log()).sum())
    return {"modes": float((counts > 0).sum()), "high_quality": float(good.double().mean()), "reverse_kl": rkl}


def reached(x: torch.Tensor, modes: torch.Tensor, share: float = 0.01) -> list[int]:
    """The modes that at least ``share`` of the points (N, 2) reach: nearest to them and within half the
    distance between the two closest modes. Looser than "captured": it tells a G that sits near every mode
    but not within 3 std of it (imprecise) from one that never goes near most of them (collapsed)."""
    gap = torch.pdist(modes.double()).min()
    idx, dist = nearest_modes(x, modes)
    counts = torch.bincount(idx[dist.double() <= gap / 2], minlength=len(modes))
    return [int(k) for k in torch.nonzero(counts >= max(1, share * len(x))).flatten()]


def directions(n: int = 128, seed: int = 0) -> torch.Tensor:
    """``n`` fixed unit directions in the plane (n, 2), evenly spread in angle and jittered by ``seed``."""
    g = torch.Generator().manual_seed(seed)
    a = (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=g, dtype=torch.float64)) * math.pi / n
    return torch.stack([a.cos(), a.sin()], 1)


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, n_dirs: int = 128) -> float:
    """The sliced 2-Wasserstein distance between point sets x (N, 2) and y (N, 2) of equal size (>= 0;
    0 for identical sets). Sets of unequal size are cut to the smaller."""
    n = min(len(x), len(y))
    w = directions(n_dirs)
    px = (x[:n].double() @ w.T).sort(0).values
    py = (y[:n].double() @ w.T).sort(0).values
    return float((px - py).pow(2).mean().sqrt())


def scores(fake: torch.Tensor, real: torch.Tensor, modes: torch.Tensor | None, sigma: float | None) -> dict[str, float]:
    """Every score that applies: the sliced Wasserstein distance always, the mode scores where the
    distribution has modes."""
    out = {"swd": sliced_wasserstein(fake, real)}
    if modes is not None and sigma is not None:
        out.update(mode_scores(fake, modes, sigma))
    return out


SMOOTH = 4  # steps averaged before counting swings: the batch noise of one centre is not a swing
BAND = 0.25  # a swing counts when the centre crosses from one outer quarter of its range to the other


def swing(centres: torch.Tensor, spread: float) -> dict[str, float]:
    """How G's points move as a whole over steps: ``centres`` (T, 2), the mean of each step's generated batch.

    The centres are projected on their main axis (the path's first principal direction) and averaged over
    ``SMOOTH`` steps; ``amplitude`` is the range of that (5th to 95th percentile) over ``spread`` (the real
    data's, e.g. the norm of its per-axis std); ``cycles`` counts the crossings between the top ``BAND`` of
    the range and the bottom one, either way, halved (a sine of n periods: n or n - 1/2, by its phase);
    ``clarity`` is the range over the smoothed
    batch noise (a swing a few times larger than the noise is no swing). Too short a path: zeros."""
    if len(centres) < 4 * SMOOTH or spread <= 0:
        return {"amplitude": 0.0, "cycles": 0.0, "clarity": 0.0}
    c = centres.double() - centres.double().mean(0)
    axis = c @ torch.linalg.svd(c, full_matrices=False).Vh[0]
    sm = axis.unfold(0, SMOOTH, 1).mean(1)
    lo, hi = float(torch.quantile(sm, 0.05)), float(torch.quantile(sm, 0.95))
    width, mid = hi - lo, (hi + lo) / 2
    noise = float((axis[SMOOTH - 1 :] - sm).std()) / SMOOTH**0.5
    side, crossings = 0, 0
    for v in sm.tolist():
        now = 1 if v > mid + BAND * width else (-1 if v < mid - BAND * width else 0)
        crossings += int(now != 0 and side != 0 and now != side)
        side = now or side
    return {"amplitude": width / spread, "cycles": crossings / 2, "clarity": width / max(noise, 1e-12)}
