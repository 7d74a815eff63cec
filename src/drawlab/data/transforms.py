"""Resize / channel conversion of uint8 image tensors (used for MNIST-style sources)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# ITU-R 601-2 luma weights, the same that PIL uses for RGB -> L.
_LUMA = (0.299, 0.587, 0.114)


def resized_hw(h: int, w: int, size: int) -> tuple[int, int]:
    """(H, W) after scaling the shorter side of an H x W image to ``size`` (both >= size)."""
    scale = size / min(h, w)
    return max(size, round(h * scale)), max(size, round(w * scale))


def resize_u8(x: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side to ``size`` (bilinear, antialiased), then centre crop: uint8 (N, C, H, W) -> (N, C, size, size)."""
    n, c, h, w = x.shape
    if h == size and w == size:
        return x
    nh, nw = resized_hw(h, w, size)
    y = F.interpolate(x.float(), size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    y = y[:, :, top : top + size, left : left + size]
    return y.round_().clamp_(0, 255).to(torch.uint8).contiguous()


def convert_channels_u8(x: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> (N, channels, H, W): gray -> RGB repeats, RGB -> gray by luminance."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)
        y = (x.float() * w).sum(dim=1, keepdim=True)
        return y.round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def transform_u8(x: torch.Tensor, size: int, channels: int, chunk: int = 4096) -> torch.Tensor:
    """Resize and convert uint8 (N, C, H, W) -> (N, channels, size, size), ``chunk`` images at a time."""
    if x.shape[1] == channels and x.shape[2] == size and x.shape[3] == size:
        return x
    n = x.shape[0]
    out = torch.empty((n, channels, size, size), dtype=torch.uint8)
    for start in range(0, n, chunk):
        part = x[start : start + chunk]
        out[start : start + chunk] = convert_channels_u8(resize_u8(part, size), channels)
    return out


class TensorItemReader:
    """Streams items of a small native uint8 (N, C, H, W) tensor, transformed one at a time."""

    def __init__(self, native: torch.Tensor, size: int, channels: int) -> None:
        self.native = native
        self.size = size
        self.channels = channels

    def __len__(self) -> int:
        return int(self.native.shape[0])

    def read(self, i: int) -> tuple[torch.Tensor, int]:
        """(uint8 (channels, size, size), i)."""
        return transform_u8(self.native[i : i + 1], self.size, self.channels)[0], i
