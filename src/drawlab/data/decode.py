"""Decode image files with PIL into uint8 (C, size, size) arrays, optionally in a process pool.

A non-square image is made square by its ``Fit``: the centred square of its shorter side (crop, the
default), the whole image on a square of its border's colour (pad), or the whole image stretched (resize).
"""

from __future__ import annotations

import enum
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
POOL_MIN_FILES = 256  # below this, decoding in-process is faster than starting a pool
CHUNK = 128


class Fit(str, enum.Enum):
    """How a non-square image becomes square (``--fit``)."""

    CROP = "crop"  # the centred square of the shorter side: fills the frame, loses the long side's ends
    PAD = "pad"  # the whole image, centred on a square of its border's median colour
    RESIZE = "resize"  # the whole image, stretched: keeps everything, changes proportions


FIT_SAYS = {
    Fit.CROP: "the centred square of the shorter side is kept",
    Fit.PAD: "each is centred on a square of its border's colour, nothing cut",
    Fit.RESIZE: "each is stretched to a square, nothing cut, proportions changed",
}


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


def to_channels(im: Image.Image, channels: int) -> Image.Image:
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


def border_colour(im: Image.Image) -> int | tuple[int, ...]:
    """The per-channel median of the image's outermost pixels (mode L or RGB): what pad fills with, so a
    sketch on white is padded with white and a photo with its own edge's colour."""
    a = np.asarray(im)
    edge = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]], axis=0)  # (2W + 2H,) or (2W + 2H, 3)
    med = np.median(edge, axis=0).astype(int)
    return int(med) if med.ndim == 0 else tuple(int(v) for v in med)


def to_square(im: Image.Image, size: int, fit: Fit) -> Image.Image:
    """``im`` (any size) as a ``size`` x ``size`` image, made square by ``fit``."""
    w, h = im.size
    if fit is Fit.RESIZE or w == h:
        return im.resize((size, size), Image.Resampling.BILINEAR)
    if fit is Fit.PAD:
        m = max(w, h)
        canvas = Image.new(im.mode, (m, m), border_colour(im))
        canvas.paste(im, ((m - w) // 2, (m - h) // 2))
        return canvas.resize((size, size), Image.Resampling.BILINEAR)
    m = min(w, h)
    box = ((w - m) / 2, (h - m) / 2, (w + m) / 2, (h + m) / 2)  # centred square, shorter side
    return im.resize((size, size), Image.Resampling.BILINEAR, box=box)


def decode_image(path: str, size: int, channels: int, fit: Fit = Fit.CROP) -> np.ndarray:
    """Decode, fix EXIF rotation, convert (alpha over white), and make it ``size`` x ``size`` by ``fit``.

    Returns uint8 (channels, size, size). Raises (any exception) when the file is unreadable.
    """
    with Image.open(path) as f:
        f.draft("L" if channels == 1 else "RGB", (size, size))  # JPEG: decode at reduced scale
        im: Image.Image = ImageOps.exif_transpose(f) if "exif" in f.info else f
        im = to_channels(im, channels)
    im = to_square(im, size, fit)
    a = np.asarray(im, dtype=np.uint8)
    a = a[None, :, :] if a.ndim == 2 else a.transpose(2, 0, 1)
    return np.ascontiguousarray(a)


def try_decode(path: str, size: int, channels: int, fit: Fit = Fit.CROP) -> np.ndarray | None:
    """``decode_image`` or None when the file is unreadable / corrupt."""
    try:
        return decode_image(path, size, channels, fit)
    except Exception:
        return None


def _decode_chunk(paths: list[str], size: int, channels: int, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (len(paths), C, size, size) (zeros where unreadable) and a bool mask of readable files."""
    out = np.zeros((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    for k, path in enumerate(paths):
        a = try_decode(path, size, channels, fit)
        if a is not None:
            out[k], ok[k] = a, True
    return out, ok


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork where available: workers start instantly and need not re-import torch."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def decode_many(
    paths: list[str], size: int, channels: int, workers: int | None = None, fit: Fit = Fit.CROP
) -> tuple[np.ndarray, np.ndarray]:
    """Decode all ``paths``: uint8 (N, C, size, size) (zeros where unreadable) and bool mask (N,)."""
    workers = min(os.cpu_count() or 1, 8) if workers is None else workers
    if workers <= 1 or len(paths) < POOL_MIN_FILES:
        return _decode_chunk(paths, size, channels, fit)
    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.empty(len(paths), dtype=bool)
    starts = range(0, len(paths), CHUNK)
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        futures = [pool.submit(_decode_chunk, paths[s : s + CHUNK], size, channels, fit) for s in starts]
        for s, fut in zip(starts, futures):
            out[s : s + CHUNK], ok[s : s + CHUNK] = fut.result()
    return out, ok
