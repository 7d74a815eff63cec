"""Sliced Wasserstein distance between Laplacian-pyramid patches (Karras et al. 2018, "Progressive Growing of
GANs", section 5): a distance in pixels, with no trained network, so it cannot favour what a feature net
happens to ignore (an autoencoder's features barely see blur; this sees it at the finest level).

Protocol (``PROTOCOL``): each image (uint8) goes into a Laplacian pyramid (5-tap binomial filter) from its
full size down to the smallest level at least 14 pixels wide (64: 64, 32, 16; 28: 28, 14). From every level,
``PATCHES`` random 7x7 neighbourhoods per image (seeded) are the descriptors (7 * 7 * C values). Unlike the
paper, which normalises each set by its own mean and standard deviation per channel, both sets are
normalised by the *real* set's, so that a loss of detail (smaller Laplacian coefficients) or a colour cast
counts. The distance per level is the mean over ``REPEATS`` x ``DIRECTIONS`` random unit directions of the
1-D Wasserstein-1 distance between the projected descriptors (sorted, equal counts), times 1,000; the value
is the mean over levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .inputs import Inputs, Sample
from .registry import Metric, Need, Value, register

PATCH = 7
PATCHES = 32  # neighbourhoods per image and level
MIN_SIDE = 14  # the smallest pyramid level
REPEATS = 4
DIRECTIONS = 128
PROTOCOL = "lap7"  # the name's tag: 7x7 Laplacian patches, real-set normalisation
_KERNEL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


@dataclass(frozen=True)
class SWD:
    value: float  # mean over levels, x1000
    spread: float  # std of the mean over the REPEATS direction sets
    levels: dict[int, float]  # side -> distance at that level, x1000


def _blur(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> the same, separable 5-tap binomial filter, reflected borders (as shifted sums:
    much faster on a CPU than a depthwise convolution)."""
    h, w = x.shape[-2:]
    y = F.pad(x, (2, 2, 2, 2), mode="reflect")
    k = _KERNEL.tolist()
    y = sum(k[i] * y[..., :, i : i + w] for i in range(5))
    return sum(k[i] * y[..., i : i + h, :] for i in range(5))


def laplacian_pyramid(x: torch.Tensor, min_side: int = MIN_SIDE) -> list[torch.Tensor]:
    """(N, C, H, W) float -> levels from full size down; each but the last is the detail lost by halving,
    the last is the low-pass image itself (its side >= ``min_side``, or the input when it is smaller)."""
    levels = []
    while x.shape[-1] // 2 >= min_side and x.shape[-2] // 2 >= min_side:
        low = _blur(x)[..., ::2, ::2]
        up = F.interpolate(low, size=x.shape[-2:], mode="nearest")
        levels.append(x - _blur(up))
        x = low
    levels.append(x)
    return levels


def _patches(level: torch.Tensor, per_image: int, g: torch.Generator) -> torch.Tensor:
    """(N, C, H, W) -> (N * per_image, C * PATCH * PATCH) random neighbourhoods."""
    n, c, h, w = level.shape
    p = min(PATCH, h, w)
    ys = torch.randint(0, h - p + 1, (n, per_image), generator=g)
    xs = torch.randint(0, w - p + 1, (n, per_image), generator=g)
    off = torch.arange(p)
    rows = (ys[..., None] + off)[..., :, None].expand(n, per_image, p, p)  # (n, k, p, p)
    cols = (xs[..., None] + off)[..., None, :].expand(n, per_image, p, p)
    flat = level.reshape(n, c, h * w)
    idx = (rows * w + cols).reshape(n, 1, -1).expand(n, c, per_image * p * p)
    out = flat.gather(2, idx).reshape(n, c, per_image, p * p)
    return out.permute(0, 2, 1, 3).reshape(n * per_image, c * p * p)


def _descriptors(images: torch.Tensor, seed: int) -> list[torch.Tensor]:
    """uint8 (N, C, H, W) -> per level, (N * PATCHES, C * 49) float descriptors, channels last in blocks."""
    g = torch.Generator().manual_seed(seed)
    return [_patches(lv, PATCHES, g) for lv in laplacian_pyramid(images.float())]


def _normalise(d: torch.Tensor, ref: torch.Tensor, channels: int) -> torch.Tensor:
    """Per channel: subtract the reference's mean, divide by its standard deviation."""
    shape = (len(d), channels, -1)
    r = ref.view(len(ref), channels, -1)
    mean = r.mean(dim=(0, 2), keepdim=True)
    std = r.std(dim=(0, 2), keepdim=True).clamp_min(1e-8)
    return ((d.view(shape) - mean) / std).view(len(d), -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, g: torch.Generator) -> list[float]:
    """Per repeat: mean over DIRECTIONS random unit directions of W1 between projections of a and b (M, D)."""
    m = min(len(a), len(b))
    a, b = a[:m], b[:m]
    out = []
    for _ in range(REPEATS):
        dirs = torch.randn(DIRECTIONS, a.shape[1], generator=g)
        dirs /= dirs.norm(dim=1, keepdim=True)
        # (DIRECTIONS, m) rows, sorted by numpy (15x faster than torch's CPU sort here)
        pa, pb = np.sort((dirs @ a.T).numpy(), axis=1), np.sort((dirs @ b.T).numpy(), axis=1)
        out.append(float(np.abs(pa - pb).mean()))
    return out


def swd(fake: torch.Tensor, real: torch.Tensor, seed: int = 0) -> SWD:
    """The sliced Wasserstein distance of uint8 images ``fake`` (M, C, H, W) to ``real`` (N, C, H, W)."""
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"SWD needs images of one shape, got {tuple(fake.shape[1:])} and {tuple(real.shape[1:])}")
    c = real.shape[1]
    df, dr = _descriptors(fake, seed), _descriptors(real, seed + 1)
    g = torch.Generator().manual_seed(seed + 2)
    levels, per_repeat = {}, []
    for lv, (f, r) in enumerate(zip(df, dr)):
        side = real.shape[-1] >> lv
        vals = sliced_wasserstein(_normalise(f, r, c), _normalise(r, r, c), g)
        levels[side] = 1000 * sum(vals) / len(vals)
        per_repeat.append(vals)
    means = torch.tensor(per_repeat).mean(dim=0) * 1000  # (REPEATS,) mean over levels
    return SWD(float(means.mean()), float(means.std()) if REPEATS > 1 else float("nan"), levels)


def _swd_of(x: Sample, ref: Sample, inp: Inputs) -> SWD:
    return swd(x.images, ref.images, inp.seed)


def _levels(s: SWD) -> dict[str, float]:
    return {str(k): round(v, 3) for k, v in s.levels.items()}


def _swd(inp: Inputs) -> Value:
    sf, sr = inp.against_a(_swd_of)
    return Value(sf.value, sf.spread, sr.value, sr.spread, extra={"levels": _levels(sf), "real_levels": _levels(sr)})


SWD_METRIC = register(
    Metric(
        key="swd",
        title="SWD",
        better="lower",
        spread=f"std over {REPEATS} sets of {DIRECTIONS} random directions "
        "(not the sampling spread: compare with the real-data reference)",
        description="sliced Wasserstein distance between 7x7 Laplacian-pyramid patches, x1000 (Karras 2018), both sets "
        "normalised by the real set: a pixel-space distance with no trained net, which sees blur and "
        "colour casts that a feature net may not; 'levels' holds each pyramid level's value",
        needs=frozenset({Need.IMAGES}),
        compute=_swd,
        floor=True,
        order=30,
        tag=PROTOCOL,
        space="pixels: 7x7 Laplacian-pyramid patches",
    )
)
