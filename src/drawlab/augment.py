"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees, real and
generated, in D's and G's phases alike, so D cannot memorise a small training set and G is not taught
to draw the augmentations. Randomness comes from the caller's generator, so a resume repeats it exactly.

Policies: ``color`` (brightness, saturation, contrast), ``translation`` (shift by up to 1/8 of the side,
zeros filled in), ``cutout`` (a square of half the side set to 0). Images (B, C, H, W) in [-1, 1].
Each policy draws its parameters once per batch, in pixels of the finest image, and applies them to every
image of a pyramid scaled to its side (``diff_augment_pyramid``: MSG-GAN's scales stay one picture).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import rng


def _rand(x: torch.Tensor, gen: torch.Generator, *shape: int) -> torch.Tensor:
    return rng.rand((x.shape[0], *shape), gen, x.device, x.dtype)


def _shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, sh: int, sw: int) -> torch.Tensor:
    """Each image of ``x`` shifted by (dy, dx) pixels (B,) each, |dy| <= sh, |dx| <= sw, zeros filled in."""
    b, _, h, w = x.shape
    padded = F.pad(x, (sw, sw, sh, sh))
    rows = torch.arange(h, device=x.device)[None, :] + sh - dy[:, None]  # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + sw - dx[:, None]  # (B, W)
    idx = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _translation(xs: list[torch.Tensor], gen: torch.Generator, ratio: float = 0.125) -> list[torch.Tensor]:
    """Shift each image by up to ``ratio`` of its side in x and y (the same share of the side at every scale)."""
    b, _, h, w = xs[-1].shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = rng.randint(-sh, sh + 1, (b,), gen, xs[-1].device)
    dx = rng.randint(-sw, sw + 1, (b,), gen, xs[-1].device)
    out = []
    for x in xs:
        fy, fx = x.shape[2] / h, x.shape[3] / w
        out.append(
            _shift(x, torch.round(dy * fy).long(), torch.round(dx * fx).long(), math.ceil(sh * fy), math.ceil(sw * fx))
        )
    return out


def _cutout(xs: list[torch.Tensor], gen: torch.Generator, ratio: float = 0.5) -> list[torch.Tensor]:
    """Zero a square of ``ratio`` of the side at a random place in each image (the same place at every scale)."""
    b, _, h, w = xs[-1].shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = rng.randint(0, h + (1 - ch % 2), (b,), gen, xs[-1].device)
    cx = rng.randint(0, w + (1 - cw % 2), (b,), gen, xs[-1].device)
    out = []
    for x in xs:
        fy, fx = x.shape[2] / h, x.shape[3] / w
        y0, x0 = torch.floor((cy - ch // 2) * fy).long(), torch.floor((cx - cw // 2) * fx).long()
        sy, sx = max(1, round(ch * fy)), max(1, round(cw * fx))
        ys = torch.arange(x.shape[2], device=x.device)[None, :] - y0[:, None]
        xs_ = torch.arange(x.shape[3], device=x.device)[None, :] - x0[:, None]
        keep = ~(((ys >= 0) & (ys < sy))[:, :, None] & ((xs_ >= 0) & (xs_ < sx))[:, None, :])
        out.append(x * keep[:, None].to(x.dtype))
    return out


def _color(xs: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image, alike at every scale."""
    r = [_rand(xs[-1], gen, 1, 1, 1) for _ in range(3)]
    out = []
    for x in xs:
        x = x + (r[0] - 0.5)
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (r[1] * 2) + mean
        mean = x.mean(dim=[1, 2, 3], keepdim=True)
        out.append((x - mean) * (r[2] + 0.5) + mean)
    return out


def color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random brightness, saturation and contrast per image (B, C, H, W)."""
    return _color([x], gen)[0]


def translation(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shift each image by up to 1/8 of its side, zeros filled in."""
    return _translation([x], gen)[0]


def cutout(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Zero a square of half the side at a random place in each image."""
    return _cutout([x], gen)[0]


POLICIES = {"color": _color, "translation": _translation, "cutout": _cutout}


def parse_policy(text: str) -> list[str]:
    """'color,translation' -> ['color', 'translation']; ValueError names an unknown one."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    for n in names:
        if n not in POLICIES:
            raise ValueError(f"unknown augmentation {n!r}: use any of {', '.join(POLICIES)}, comma-separated")
    return names


def diff_augment_pyramid(xs: list[torch.Tensor], policy: list[str], gen: torch.Generator) -> list[torch.Tensor]:
    """A pyramid (coarse to fine, each (B, C, S, S)) with each augmentation of ``policy`` applied in order,
    its random parameters drawn once from the finest image and applied alike at every scale."""
    for name in policy:
        xs = POLICIES[name](list(xs), gen)
    return list(xs)


def diff_augment(x: torch.Tensor, policy: list[str], gen: torch.Generator) -> torch.Tensor:
    """``x`` with each augmentation of ``policy`` applied in order (identity for an empty policy)."""
    return diff_augment_pyramid([x], policy, gen)[0] if policy else x
