"""The Frechet distance between Gaussians fitted to two feature sets (FID in a chosen feature space).

    d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)

The trace of the matrix square root is computed from the eigenvalues of the symmetric positive
semi-definite matrix S1^1/2 S2 S1^1/2 (S1^1/2 itself from an eigen-decomposition of S1), clipped at 0:
real-valued by construction, never complex, stable for singular covariances. It equals
tr((S1 S2)^1/2) of the usual scipy.linalg.sqrtm formula (S1 S2 is similar to that matrix).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .inputs import Inputs, Sample
from .registry import Metric, Need, Value, register

BOOTSTRAP = 50  # bootstrap resamples of both sets for the FID spread (10 were too noisy)


def psd_sqrt(s: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues,
    from rounding, become 0)."""
    s = (np.asarray(s, dtype=np.float64) + np.asarray(s, dtype=np.float64).T) / 2
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((S1 S2)^1/2) for symmetric PSD S1, S2, as a real number >= 0."""
    r = psd_sqrt(s1)
    m = r @ np.asarray(s2, dtype=np.float64) @ r
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(w, 0, None)).sum())


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """The squared Frechet (2-Wasserstein) distance between N(mu1, S1) and N(mu2, S2); >= 0."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape} {mu2.shape}, sigma {s1.shape} {s2.shape}")
    diff = mu1 - mu2
    d = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2))
    return max(d, 0.0)


def feature_stats(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D)) of features (N, D), float64, unbiased covariance."""
    f = np.asarray(f, dtype=np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def check_count(n: int, dim: int, what: str = "FID") -> None:
    """A ConfigError unless n > dim + 1: with fewer samples the covariance is not full rank."""
    if n <= dim + 1:
        raise ConfigError(
            f"{what} needs more samples than feature dimensions ({dim}) for a full-rank "
            f"covariance: got {n}; use --n {max(2000, 2 * dim)} or more"
        )


def fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to features f1 (N1, D) and f2 (N2, D)."""
    check_count(min(len(f1), len(f2)), f1.shape[1])
    return frechet_distance(*feature_stats(f1), *feature_stats(f2))


def fid_bootstrap(f1: np.ndarray, f2: np.ndarray, repeats: int = 10, seed: int = 0) -> tuple[float, float]:
    """(FID of the full sets, standard deviation of FID over ``repeats`` bootstrap resamples of both)."""
    value = fid(f1, f2)
    if repeats < 2:
        return value, float("nan")
    rng = np.random.default_rng(seed)
    draws = [
        frechet_distance(
            *feature_stats(f1[rng.integers(0, len(f1), len(f1))]), *feature_stats(f2[rng.integers(0, len(f2), len(f2))])
        )
        for _ in range(repeats)
    ]
    return value, float(np.std(draws, ddof=1))


def _fid_of(x: Sample, ref: Sample, inp: Inputs) -> tuple[float, float]:
    """(FID of x against ref, its bootstrap spread; NaN without spreads)."""
    return fid_bootstrap(x.features, ref.features, BOOTSTRAP if inp.spreads else 0, inp.seed)


def _fid(inp: Inputs) -> Value:
    (v, s), (rv, rs) = inp.against_a(_fid_of)
    return Value(v, s, rv, rs)


FID = register(
    Metric(
        key="fid",
        title="FID",
        better="lower",
        spread=f"bootstrap std ({BOOTSTRAP} resamples of both sets)",
        description="Frechet distance between Gaussians fitted to generated and real features",
        needs=frozenset({Need.FEATURES}),
        compute=_fid,
        floor=True,
        order=10,
        probe=True,
    )
)
