"""Image tensors <-> uint8 arrays and PNG grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .files import atomic_write


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] (N, C, H, W) -> uint8 (N, C, H, W) in [0, 255]."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def to_hwc_array(x: torch.Tensor) -> np.ndarray:
    """uint8 (N, C, H, W) -> numpy (N, H, W) for one channel or (N, H, W, C) for several."""
    a = x.cpu().numpy()
    return a[:, 0] if a.shape[1] == 1 else a.transpose(0, 2, 3, 1)


def grid_array(images: torch.Tensor, nrow: int = 8, pad: int = 2, scale: int | None = None) -> np.ndarray:
    """uint8 (N, C, H, W) -> one uint8 grid image (H', W') or (H', W', 3), with ``pad`` white pixels
    between tiles and each tile enlarged ``scale`` times (default: so that tiles are >= 56 px)."""
    n, c, h, w = images.shape
    scale = scale or max(1, 56 // max(h, w))
    if scale > 1:
        images = images.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
        h, w = h * scale, w * scale
    ncol = min(nrow, n)
    nrows = (n + ncol - 1) // ncol
    grid = torch.full((c, nrows * (h + pad) + pad, ncol * (w + pad) + pad), 255, dtype=torch.uint8)
    for i in range(n):
        r, q = divmod(i, ncol)
        grid[:, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + q * (w + pad) : pad + q * (w + pad) + w] = images[
            i
        ].cpu()
    a = grid.numpy()
    return a[0] if c == 1 else a.transpose(1, 2, 0)


def save_png(array: np.ndarray, path: str | Path, kind: str = "grid", text: dict[str, str] | None = None) -> Path:
    """Write a uint8 (H, W) or (H, W, 3) array as PNG, atomically (temp file + rename); ``text``: tEXt chunks
    (key -> value) that say how it was made (``Image.open(path).text`` reads them back)."""
    info = None
    if text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for k, v in text.items():
            info.add_text(k, v)
    return atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG", pnginfo=info), kind)
