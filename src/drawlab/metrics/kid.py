"""Kernel Inception Distance in a chosen feature space (Binkowski et al. 2018): the unbiased squared
MMD with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets."""

from __future__ import annotations

import numpy as np

from .inputs import Inputs, Sample
from .registry import Metric, Need, Value, register


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x (m, D) and y (n, D) with the cubic polynomial kernel."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


def kid(
    f1: np.ndarray, f2: np.ndarray, subsets: int = 50, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """(mean, standard deviation) of the unbiased MMD^2 over ``subsets`` random subsets of
    ``min(subset_size, len // 2)`` from each set (drawn without replacement within a subset; at most half
    of a set, so that the subsets differ and the spread means something)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    size = min(subset_size, len(f1) // 2, len(f2) // 2)
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    vals = [
        mmd2_unbiased(f1[rng.choice(len(f1), size, replace=False)], f2[rng.choice(len(f2), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if subsets > 1 else float("nan")


def _kid_of(x: Sample, ref: Sample, inp: Inputs) -> tuple[float, float]:
    return kid(x.features, ref.features, seed=inp.seed)


def _kid(inp: Inputs) -> Value:
    (v, s), (rv, rs) = inp.against_a(_kid_of)
    return Value(v, s, rv, rs)


KID = register(
    Metric(
        key="kid",
        title="KID",
        better="lower",
        spread="std over 50 subsets",
        description="unbiased squared MMD, cubic polynomial kernel (Binkowski 2018), in the feature net's own units: "
        "comparable between runs under the same feature net only, never with Inception KID",
        needs=frozenset({Need.FEATURES}),
        compute=_kid,
        floor=True,
        order=20,
    )
)
