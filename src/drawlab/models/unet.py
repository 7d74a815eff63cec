"""A small time-conditioned U-Net: the network of the denoising families (flow, ddpm). Registers nothing.

    x (B, C, H, W), t (B,) in [0, 1], y (B,) -> (B, C, H, W)   (a velocity for flow, the noise for ddpm)

Encoder: one residual block per resolution, halving the size between them (28 -> 14 -> 7); a middle
block; a decoder that mirrors it, each block reading the encoder's output of its size (the skips).
Time enters every block as a sinusoidal embedding through an MLP; a label adds its embedding to the
time's (index ``num_classes`` is "no label": classifier-free guidance's unconditional branch).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def resolutions(size: int) -> int:
    """How many resolutions the U-Net works at: halve while the side stays >= 7 and even, at most 4.

    28 -> 3 (28, 14, 7); 32 -> 3 (32, 16, 8); 64 -> 4 (64, 32, 16, 8); 8 -> 2 (8, 4)."""
    n, s = 1, size
    while n < 4 and s % 2 == 0 and s // 2 >= 4 and (s // 2 >= 7 or n < 2):
        n, s = n + 1, s // 2
    return n


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, c), c)


def time_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features (B, dim) of t (B,) in [0, 1] (Vaswani et al.; DDPM's timestep embedding of 1000 t)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv3x3, plus the embedding's shift, -> GroupNorm -> SiLU -> conv3x3; a residual sum."""

    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.block1 = nn.Sequential(_norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1))
        self.emb = nn.Linear(emb, c_out)
        self.block2 = nn.Sequential(_norm(c_out), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.block1(x) + self.emb(e)[:, :, None, None]
        return self.skip(x) + self.block2(h)


class UNet(nn.Module):
    """The denoiser: ``width`` channels at full size, twice that at every lower resolution.

    ``patch`` P > 1 folds each P x P block of pixels into channels first (pixel unshuffle: (B, C, H, W) ->
    (B, C P^2, H/P, W/P)) and unfolds the answer at the end, so every level works at 1/P the side."""

    def __init__(self, channels: int, size: int, width: int, num_classes: int = 0, patch: int = 1):
        super().__init__()
        self.num_classes = num_classes
        self.fold = nn.PixelUnshuffle(patch) if patch > 1 else nn.Identity()
        self.unfold = nn.PixelShuffle(patch) if patch > 1 else nn.Identity()
        channels, size = channels * patch * patch, size // patch
        levels = resolutions(size)
        chans = [width] + [2 * width] * (levels - 1)  # 28: (w, 2w, 2w) at 28, 14 and 7
        emb = 4 * width
        self.time_dim = max(32, width)
        self.time = nn.Sequential(nn.Linear(self.time_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = nn.Embedding(num_classes + 1, emb) if num_classes > 0 else None  # the last: no label
        self.stem = nn.Conv2d(channels, chans[0], 3, padding=1)  # (B, C, H, W) -> (B, w, H, W)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c = chans[0]
        for i, ch in enumerate(chans):
            self.down.append(ResBlock(c, ch, emb))
            c = ch
            last = i == len(chans) - 1
            self.pool.append(nn.Identity() if last else nn.Conv2d(c, c, 3, stride=2, padding=1))  # H -> H/2
        self.middle = ResBlock(c, c, emb)
        self.up = nn.ModuleList()
        for ch in reversed(chans):
            self.up.append(ResBlock(c + ch, ch, emb))  # the decoder's input + the encoder's skip of this size
            c = ch
        head = nn.Conv2d(c, channels, 3, padding=1)
        nn.init.zeros_(head.weight)  # starts by predicting zero: a calm first step
        if head.bias is not None:
            nn.init.zeros_(head.bias)
        self.out = nn.Sequential(_norm(c), nn.SiLU(), head)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        e = self.time(time_features(t, self.time_dim).to(x.dtype))
        if self.label is not None:
            labels = y if y is not None else torch.full((x.shape[0],), self.num_classes, device=x.device)
            e = e + self.label(labels)
        h = self.stem(self.fold(x))
        skips = []
        for block, pool in zip(self.down, self.pool, strict=True):
            h = block(h, e)
            skips.append(h)
            h = pool(h)
        h = self.middle(h, e)
        for block in self.up:
            s = skips.pop()
            if h.shape[-2:] != s.shape[-2:]:
                h = F.interpolate(h, size=s.shape[-2:], mode="nearest")  # 7 -> 14 -> 28
            h = block(torch.cat([h, s], dim=1), e)
        return self.unfold(self.out(h))
