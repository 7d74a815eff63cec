"""Precision, recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020) from
k-nearest-neighbour balls in a feature space (k = 5).

With r_k(x) the distance from x to its k-th nearest neighbour within its own set:

- precision: share of fakes inside at least one real ball B(real_i, r_k(real_i));
- recall: share of reals inside at least one fake ball B(fake_j, r_k(fake_j));
- density: (1 / (k M)) * sum over fakes of the number of real balls containing it (1 for matching sets);
- coverage: share of reals whose ball contains at least one fake.

Distances are computed in blocks, so 10,000 x 10,000 needs little memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .inputs import Inputs, Sample
from .registry import Metric, Need, Value, register

BLOCK = 2048


def _blocks(a: torch.Tensor, b: torch.Tensor):
    for i in range(0, len(a), BLOCK):
        yield i, torch.cdist(a[i : i + BLOCK], b)


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row."""
    t = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    if len(t) <= k:
        raise ValueError(f"k-NN with k={k} needs more than {k} samples, got {len(t)}")
    out = torch.empty(len(t), dtype=torch.float64)
    for i, d in _blocks(t, t):
        out[i : i + len(d)] = d.topk(k + 1, dim=1, largest=False).values[:, k]  # index 0 is the point itself
    return out.numpy()


@dataclass
class PRDC:
    precision: float
    recall: float
    density: float
    coverage: float
    precision_se: float
    recall_se: float
    density_se: float
    coverage_se: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _se_share(p: float, n: int) -> float:
    return float(np.sqrt(max(p * (1 - p), 0.0) / max(n, 1)))


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5) -> PRDC:
    """Precision, recall, density, coverage of ``fake`` (M, D) against ``real`` (N, D), each with its
    standard error (binomial for the shares, of the per-sample mean for density)."""
    r = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    f = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    rr = torch.as_tensor(knn_radii(real, k))
    fr = torch.as_tensor(knn_radii(fake, k))
    in_real = torch.zeros(len(f), dtype=torch.bool)  # precision
    count = torch.zeros(len(f), dtype=torch.float64)  # density
    for i, d in _blocks(f, r):  # d: (block of fakes, N reals)
        inside = d < rr[None, :]
        in_real[i : i + len(d)] = inside.any(1)
        count[i : i + len(d)] = inside.sum(1).double()
    recalled = torch.zeros(len(r), dtype=torch.bool)  # recall
    covered = torch.zeros(len(r), dtype=torch.bool)  # coverage
    for i, d in _blocks(r, f):  # d: (block of reals, M fakes)
        recalled[i : i + len(d)] = (d < fr[None, :]).any(1)
        covered[i : i + len(d)] = d.min(1).values < rr[i : i + len(d)]
    p, rc, cv = float(in_real.double().mean()), float(recalled.double().mean()), float(covered.double().mean())
    dens = count / k
    return PRDC(
        p,
        rc,
        float(dens.mean()),
        cv,
        _se_share(p, len(f)),
        _se_share(rc, len(r)),
        float(dens.std() / np.sqrt(len(f))) if len(f) > 1 else float("nan"),
        _se_share(cv, len(r)),
    )


K = 5
_SE_SHARE = (
    "binomial standard error (the real set and its radii held fixed: the full sampling spread is 1.2-2.2x larger)"
)


def _prdc_of(x: Sample, ref: Sample, inp: Inputs) -> PRDC:
    return prdc(ref.features, x.features, k=K)


def _share(key: str, better, spread: str, description: str, order: int, probe: bool) -> Metric:
    """One of the four: the field ``key`` of the PRDC of the generated set (and of B) against A."""

    def compute(inp: Inputs) -> Value:
        pf, pr = inp.against_a(_prdc_of)
        return Value(
            getattr(pf, key), getattr(pf, key + "_se"), getattr(pr, key), getattr(pr, key + "_se"), extra={"k": K}
        )

    return register(
        Metric(
            key=key,
            title=key,
            better=better,
            spread=spread,
            description=description,
            needs=frozenset({Need.FEATURES}),
            compute=compute,
            floor=True,
            order=order,
            probe=probe,
        )
    )


PRECISION = _share(
    "precision",
    "higher",
    _SE_SHARE,
    "share of generated images inside the real k=5 NN manifold (Kynkaanniemi 2019)",
    40,
    True,
)
RECALL = _share(
    "recall",
    "higher",
    _SE_SHARE,
    "share of real images inside the generated k=5 NN manifold (Kynkaanniemi 2019)",
    50,
    True,
)
DENSITY = _share(
    "density",
    "closer",
    "standard error of the mean (the real set and its radii held fixed)",
    "mean number of real k=5 NN balls holding a generated image, / k (Naeem 2020); 1 for matching sets",
    60,
    False,
)
COVERAGE = _share(
    "coverage",
    "higher",
    _SE_SHARE,
    "share of real k=5 NN balls holding at least one generated image (Naeem 2020)",
    70,
    True,
)
