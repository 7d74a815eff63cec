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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..images import grid_array, save_png
from .features import real_images
from .inputs import Inputs
from .registry import Flaw, Metric, Need, Value, register

BLOCK = 1024
MAX_FAKE = 5_000  # generated images checked
MAX_HELDOUT = 2_000
SPLIT_SEED = 20_000  # plus the evaluation's seed: the split into reference and held-out images
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


DEFINITION = (
    "the training images are split at random into a reference part and a held-out part; "
    "a generated image is memorised when its nearest reference image is at most as far as "
    f"the {PERCENTILE:g}st percentile of the held-out images' nearest-reference "
    "distances AND its nearest/second-nearest distance ratio is at most the "
    f"{RATIO_PERCENTILE:g}th percentile of the held-out ratios (so that images "
    "near everything, like class averages, do not count); every image is first standardised "
    "to the reference set's average pixel mean and contrast (so a copy counts at any "
    "brightness and a contrast-less blob is near nothing); pixels: L2 of values in [0,1]; "
    "features: L2 in the feature net; the thresholds come from one half of the held-out "
    "images and 'real' is the share flagged in the other half"
)


@dataclass
class _Both:
    pixels: Memorisation
    features: Memorisation
    m: int  # generated images checked
    about: dict[str, Any]
    files: dict[str, str]


def _both(inp: Inputs) -> _Both:
    """Both memorisation measurements on one reference/held-out split; the worst offenders' picture."""
    ds, fake = inp.dataset, inp.generated.images
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(SPLIT_SEED + inp.seed))
    n_hold = min(MAX_HELDOUT, max(1, len(ds) // 10))
    img_hold, img_ref = real_images(ds, perm[:n_hold].sort().values), real_images(ds, perm[n_hold:].sort().values)
    m = min(MAX_FAKE, len(fake))
    target = contrast(img_ref)
    s_ref, s_hold, s_fake = (standardise(x, *target) for x in (img_ref, img_hold, fake[:m]))
    mp = memorisation(pixels(s_ref), pixels(s_hold), pixels(s_fake))
    mf = memorisation(inp.features_of(s_ref), inp.features_of(s_hold), inp.features_of(s_fake))
    worst = worst_offenders(mp, k=min(10, m))
    pairs = torch.cat([fake[torch.as_tensor(worst)], img_ref[torch.as_tensor(mp.index[worst])]])
    save_png(grid_array(pairs, nrow=len(worst)), inp.eval_dir / "memorised.png")
    about = {
        "reference_images": len(img_ref),
        "heldout_images": int(n_hold),
        "generated_images": m,
        "standardised_to": {"mean": round(target[0], 2), "std": round(target[1], 2)},
        "percentile": PERCENTILE,
        "ratio_percentile": RATIO_PERCENTILE,
        "split_seed": SPLIT_SEED + inp.seed,
        "definition": DEFINITION,
    }
    return _Both(mp, mf, m, {"memorisation": about}, {"memorised": str(Path(inp.eval_dir.name) / "memorised.png")})


def _value(inp: Inputs, b: _Both, r: Memorisation) -> Value:
    extra = {"threshold": r.threshold, "ratio_threshold": r.ratio_threshold, "n_generated": b.m}
    return Value(r.share, r.share_se, r.heldout_share, None, extra, b.about, b.files, SPLIT_SEED + inp.seed)


def _in_pixels(inp: Inputs) -> Value:
    b = inp.once(_both)
    return _value(inp, b, b.pixels)


def _in_features(inp: Inputs) -> Value:
    b = inp.once(_both)
    return _value(inp, b, b.features)


_NEEDS = frozenset({Need.IMAGES, Need.FEATURES, Need.DATASET, Need.FILES})
MEMORISED_PIXELS = register(
    Metric(
        key="memorised-pixels",
        title="memorised (pixels)",
        better="lower",
        spread="binomial standard error",
        description="share of samples nearer to a training image (pixel L2) than the closest 1% of held-out real images",
        needs=_NEEDS,
        compute=_in_pixels,
        floor=False,
        order=140,
        flaw=Flaw.COPIES,
        tag="",
        space="pixels",
        max_n=MAX_FAKE,
        say="memorisation ...",
    )
)
MEMORISED = register(
    Metric(
        key="memorised",
        title="memorised (features)",
        better="lower",
        spread="binomial standard error",
        description="the same in the feature net's space",
        needs=_NEEDS,
        compute=_in_features,
        floor=False,
        order=150,
        flaw=Flaw.COPIES,
        max_n=MAX_FAKE,
    )
)
