"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees, real and
generated, in D's and G's phases alike, so D cannot memorise a small training set and G is not taught
to draw the augmentations. Randomness comes from the caller's generator, so a resume repeats it exactly.

Policies: ``color`` (brightness, saturation, contrast), ``translation`` (shift by up to 1/8 of the side,
zeros filled in), ``cutout`` (a square of half the side set to 0). Images (B, C, H, W) in [-1, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _rand(x: torch.Tensor, gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, generator=gen, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
    x = x + (_rand(x, gen, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, gen, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x, gen, 1, 1, 1) + 0.5) + mean


def translation(x: torch.Tensor, gen: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side in x and y, filling with zeros (mid-grey)."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b,), generator=gen, device=x.device)
    dx = torch.randint(-sw, sw + 1, (b,), generator=gen, device=x.device)
    padded = F.pad(x, (sw, sw, sh, sh))
    rows = (torch.arange(h, device=x.device)[None, :] + sh - dy[:, None])          # (B, H)
    cols = (torch.arange(w, device=x.device)[None, :] + sw - dx[:, None])          # (B, W)
    idx = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, gen: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ``ratio`` of the side at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b,), generator=gen, device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b,), generator=gen, device=x.device)
    ys = torch.arange(h, device=x.device)[None, :] - (cy[:, None] - ch // 2)
    xs = torch.arange(w, device=x.device)[None, :] - (cx[:, None] - cw // 2)
    keep = ~(((ys >= 0) & (ys < ch))[:, :, None] & ((xs >= 0) & (xs < cw))[:, None, :])
    return x * keep[:, None].to(x.dtype)


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(text: str) -> list[str]:
    """'color,translation' -> ['color', 'translation']; ValueError names an unknown one."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    for n in names:
        if n not in POLICIES:
            raise ValueError(f"unknown augmentation {n!r}: use any of {', '.join(POLICIES)}, comma-separated")
    return names


def diff_augment(x: torch.Tensor, policy: list[str], gen: torch.Generator) -> torch.Tensor:
    """``x`` with each augmentation of ``policy`` applied in order (identity for an empty policy)."""
    for name in policy:
        x = POLICIES[name](x, gen)
    return x
