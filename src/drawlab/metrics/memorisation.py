"""Memorisation: are generated images closer to a training image than fresh real images are?

The real training images are split at random into a reference part T (90%) and a held-out part H (10%,
at most 2,000). For an image x let d1(x), d2(x) be the distances to its nearest and second-nearest
images in T, and ratio(x) = d1 / d2 (0 when d1 = 0). A generated image g is *memorised* when

    d1(g) <= the 1st percentile of d1 over H   and   ratio(g) <= the 10th percentile of ratio over H.

The first condition is "nearer to a training image than all but 1% of fresh real images are"; the
second keeps out images that are near *everything* (a blurry class average sits close to many training
images at once, a copy close to exactly one). Exact copies of images in T are always flagged
(d1 = 0, ratio 0); fresh real images rarely. The thresholds are set on one half of H (even positions)
and the real-data reference is the share flagged in the other half, so it is measured, not 1% by
construction (crops of one drawing, which overlap, show far more). Measured in pixels (L2 of values in [0, 1]) and in the feature net's space. The
generator also saw H, so copies of H are not counted.

Every image is first *standardised* (``standardise``): its pixels shifted and scaled to the reference set's
average per-image mean and standard deviation. A copy stays a copy (also a darker or washed-out one), but
an image with almost no contrast -- a grey blob, which sits nearer to the one greyest training photo than
fresh photos sit to anything -- gets its faint structure amplified and is no longer "near" a training image
(measured on faces: an untrained MSG-GAN's grey samples went from 38% / 70% flagged to 0%; exact, noisy
and rescaled copies stay 100%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

BLOCK = 1024
PERCENTILE = 1.0  # of held-out nearest distances
RATIO_PERCENTILE = 10.0  # of held-out nearest / second-nearest ratios


def standardise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8, each image's pixels shifted and scaled to ``mean`` and ``std`` (0-255 units)."""
    x = images.float()
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    s = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(0.5)  # a flat image stays flat
    return ((x - m) / s * std + mean).clamp(0, 255).round().to(torch.uint8)


def contrast(images: torch.Tensor) -> tuple[float, float]:
    """(mean, standard deviation) of the pixels of an average image of ``images`` (uint8): the target of
    ``standardise``."""
    x = images.float().flatten(1)
    return float(x.mean(1).mean()), float(x.std(1).mean())


def pixels(images: torch.Tensor) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 (N, C*H*W) in [0, 1]."""
    return (images.reshape(images.shape[0], -1).float() / 255.0).numpy()


def nearest2(query: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d1, d2, index of the nearest) of each row of ``query`` among the rows of ``ref`` (Euclidean, float64;
    d1 is recomputed directly, so it is exactly 0 for an exact copy)."""
    q = torch.as_tensor(np.asarray(query), dtype=torch.float64)
    r = torch.as_tensor(np.asarray(ref), dtype=torch.float64)
    if len(r) < 2:
        raise ValueError("the reference set needs at least 2 images")
    d1 = torch.empty(len(q), dtype=torch.float64)
    d2 = torch.empty(len(q), dtype=torch.float64)
    idx = torch.empty(len(q), dtype=torch.long)
    r2 = (r * r).sum(1)
    for i in range(0, len(q), BLOCK):
        qb = q[i : i + BLOCK]
        sq = (qb * qb).sum(1, keepdim=True) + r2[None, :] - 2 * (qb @ r.T)
        j = sq.topk(2, dim=1, largest=False).indices
        a = (qb - r[j[:, 0]]).norm(dim=1)
        b = (qb - r[j[:, 1]]).norm(dim=1)
        swap = b < a
        d1[i : i + len(qb)] = torch.where(swap, b, a)
        d2[i : i + len(qb)] = torch.where(swap, a, b)
        idx[i : i + len(qb)] = torch.where(swap, j[:, 1], j[:, 0])
    return d1.numpy(), d2.numpy(), idx.numpy()


def nearest(query: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of the nearest row of ``ref`` for each row of ``query``."""
    d1, _, idx = nearest2(query, ref)
    return d1, idx


def _ratio(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    return np.where(d1 == 0, 0.0, d1 / np.maximum(d2, 1e-12))


@dataclass
class Memorisation:
    share: float  # of generated images flagged
    share_se: float  # binomial standard error
    threshold: float  # d1 threshold: the PERCENTILE-th percentile of held-out d1
    ratio_threshold: float  # the RATIO_PERCENTILE-th percentile of held-out d1/d2
    heldout_share: float  # the same share for the half of the held-out images that did not set the thresholds
    dist: np.ndarray  # d1 of each generated image
    ratio: np.ndarray  # d1 / d2 of each generated image
    index: np.ndarray  # index (into the reference set) of its nearest image
    flagged: np.ndarray  # bool, per generated image

    def as_dict(self) -> dict[str, float]:
        return {
            "share": self.share,
            "share_se": self.share_se,
            "threshold": self.threshold,
            "ratio_threshold": self.ratio_threshold,
            "heldout_share": self.heldout_share,
        }


def memorisation(
    reference: np.ndarray,
    heldout: np.ndarray,
    fake: np.ndarray,
    percentile: float = PERCENTILE,
    ratio_percentile: float = RATIO_PERCENTILE,
) -> Memorisation:
    """The memorised share of ``fake`` rows (see the module docstring); all (N, D) arrays: pixels or features."""
    h1, h2, _ = nearest2(heldout, reference)
    hr = _ratio(h1, h2)
    calib, report = slice(0, None, 2), slice(1, None, 2)  # thresholds from one half of H, the real share on the other
    if len(h1) < 2:
        calib = report = slice(None)
    thr, rthr = float(np.percentile(h1[calib], percentile)), float(np.percentile(hr[calib], ratio_percentile))
    f1, f2, idx = nearest2(fake, reference)
    fr = _ratio(f1, f2)
    flagged = (f1 <= thr) & (fr <= rthr)
    share = float(flagged.mean())
    return Memorisation(
        share,
        float(np.sqrt(share * (1 - share) / len(f1))),
        thr,
        rthr,
        float(((h1[report] <= thr) & (hr[report] <= rthr)).mean()),
        f1,
        fr,
        idx,
        flagged,
    )


def worst_offenders(m: Memorisation, k: int = 10) -> np.ndarray:
    """Indices of the ``k`` most suspicious generated images: flagged ones first, then by d1 relative to
    the threshold times the ratio relative to its threshold."""
    score = (m.dist / max(m.threshold, 1e-12)) * (m.ratio / max(m.ratio_threshold, 1e-12))
    return np.lexsort((score, ~m.flagged))[:k]
