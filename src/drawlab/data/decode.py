"""Decode image files with PIL into uint8 (C, size, size) arrays, optionally in a process pool."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
POOL_MIN_FILES = 256  # below this, decoding in-process is faster than starting a pool
CHUNK = 128


def is_colour_mode(mode: str) -> bool:
    """True for PIL modes that carry colour (RGB, RGBA, P, CMYK, YCbCr, ...)."""
    return mode not in _GRAY_MODES


def probe_mode(path: str) -> str | None:
    """The PIL mode from the file's header, or None when PIL cannot identify the file."""
    try:
        with Image.open(path) as im:
            return im.mode
    except Exception:
        return None


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float gray images -> mode L (16-bit ranges scaled by 1/257)."""
    a = np.asarray(im, dtype=np.float32)
    if a.size and a.max() > 255:
        a = a / 257.0
    elif im.mode == "F" and a.size and a.max() <= 1.0:
        a = a * 255.0
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


def _to_channels(im: Image.Image, channels: int) -> Image.Image:
    """Mode L (channels 1, ITU-R 601-2 luma) or RGB (channels 3, gray repeated); alpha over white."""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        im = _to_8bit(im)
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    target = "L" if channels == 1 else "RGB"
    if im.mode == target:
        im.load()
        return im
    return im.convert(target)


def decode_image(path: str, size: int, channels: int) -> np.ndarray:
    """Decode, fix EXIF rotation, convert, scale the shorter side to ``size`` and centre-crop.

    Returns uint8 (channels, size, size). Raises (any exception) when the file is unreadable.
    """
    with Image.open(path) as f:
        f.draft("L" if channels == 1 else "RGB", (size, size))  # JPEG: decode at reduced scale
        im: Image.Image = ImageOps.exif_transpose(f) if "exif" in f.info else f
        im = _to_channels(im, channels)
    w, h = im.size
    m = min(w, h)
    box = ((w - m) / 2, (h - m) / 2, (w + m) / 2, (h + m) / 2)  # centred square, shorter side
    im = im.resize((size, size), Image.Resampling.BILINEAR, box=box)
    a = np.asarray(im, dtype=np.uint8)
    a = a[None, :, :] if a.ndim == 2 else a.transpose(2, 0, 1)
    return np.ascontiguousarray(a)


def try_decode(path: str, size: int, channels: int) -> np.ndarray | None:
    """``decode_image`` or None when the file is unreadable / corrupt."""
    try:
        return decode_image(path, size, channels)
    except Exception:
        return None


def _decode_chunk(paths: list[str], size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (len(paths), C, size, size) (zeros where unreadable) and a bool mask of readable files."""
    out = np.zeros((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    for k, path in enumerate(paths):
        a = try_decode(path, size, channels)
        if a is not None:
            out[k], ok[k] = a, True
    return out, ok


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork where available: workers start instantly and need not re-import torch."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def decode_many(
    paths: list[str], size: int, channels: int, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode all ``paths``: uint8 (N, C, size, size) (zeros where unreadable) and bool mask (N,)."""
    workers = min(os.cpu_count() or 1, 8) if workers is None else workers
    if workers <= 1 or len(paths) < POOL_MIN_FILES:
        return _decode_chunk(paths, size, channels)
    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.empty(len(paths), dtype=bool)
    starts = range(0, len(paths), CHUNK)
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        futures = [pool.submit(_decode_chunk, paths[s : s + CHUNK], size, channels) for s in starts]
        for s, fut in zip(starts, futures):
            out[s : s + CHUNK], ok[s : s + CHUNK] = fut.result()
    return out, ok
