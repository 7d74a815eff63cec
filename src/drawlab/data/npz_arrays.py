"""``npz:PATH``: images (and labels) saved with NumPy (``np.savez(PATH, images=..., labels=...)``).

- the images: the array named ``images`` (or ``x``, ``X``, ``arr_0``); the labels, optional: ``labels`` (or
  ``y``, ``Y``, ``arr_1``), whole numbers, one per image;
- layout: (N, H, W) gray, (N, H, W, C) or (N, C, H, W) with C 1 or 3 (the axis of size 1 or 3 decides; square
  images only);
- values: uint8 [0, 255], or float in [0, 1], or float in [-1, 1] (what was understood is said in one line);
- anything else is one line naming what was wrong, exit 2.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from drawlab.data.base import register
from drawlab.data.digits import ArrayFileSource
from drawlab.errors import DataError

IMAGE_KEYS = ("images", "x", "X", "arr_0")
LABEL_KEYS = ("labels", "y", "Y", "arr_1")


def _layout(a: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """(N, C, S, S) from (N, S, S), (N, S, S, C) or (N, C, S, S); DataError otherwise."""
    if a.ndim == 3:
        a, said = a[:, None], "NHW (gray)"
    elif a.ndim == 4 and a.shape[1] in (1, 3) and a.shape[3] not in (1, 3):
        said = "NCHW"
    elif a.ndim == 4 and a.shape[3] in (1, 3):
        a, said = a.transpose(0, 3, 1, 2), "NHWC"
    else:
        raise DataError(
            f"{path}: images of shape {tuple(a.shape)}: give (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3"
        )
    if a.shape[2] != a.shape[3]:
        raise DataError(f"{path}: images are {a.shape[2]}x{a.shape[3]}: npz: takes square images (crop or pad them)")
    return a, said


def _to_uint8(a: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    if a.dtype == np.uint8:
        return a, "uint8 0..255"
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise DataError(f"{path}: images of dtype {a.dtype}: give uint8 or float pixels")
    f = a.astype(np.float64)
    if not np.isfinite(f).all():
        raise DataError(f"{path}: images hold NaN or infinite values")
    lo, hi = float(f.min()), float(f.max())
    if np.issubdtype(a.dtype, np.integer) and lo >= 0 and hi <= 255:
        return f.astype(np.uint8), f"{a.dtype} 0..255"
    if lo >= 0 and hi <= 1:
        return np.rint(f * 255).astype(np.uint8), "float 0..1"
    if lo >= -1 and hi <= 1:
        return np.rint((f + 1) * 127.5).astype(np.uint8), "float -1..1"
    raise DataError(f"{path}: pixel values {lo:g}..{hi:g}: give uint8 0..255 or floats in 0..1 or -1..1")


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str], str]:
    """(images uint8 (N, C, S, S), labels int64 (N,) or None, class names, what was understood in one line)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {path} as .npz ({e}); save it with numpy.savez") from None
    key = next((k for k in IMAGE_KEYS if k in arrays), None)
    if key is None:
        raise DataError(f"{path} holds {', '.join(arrays) or 'nothing'}: name the images array 'images' (or x)")
    images, layout = _layout(arrays[key], path)
    if not len(images):
        raise DataError(f"{path}: '{key}' holds no images")
    images, values = _to_uint8(images, path)
    said = f"{path.name}: {len(images)} images '{key}' as {layout}, {values}, {images.shape[1]}x{images.shape[2]}x{images.shape[3]}"
    lkey = next((k for k in LABEL_KEYS if k in arrays and k != key), None)
    if lkey is None:
        return np.ascontiguousarray(images), None, [], said + ", no labels"
    raw = np.asarray(arrays[lkey]).reshape(-1)
    if len(raw) != len(images):
        raise DataError(f"{path}: {len(raw)} labels '{lkey}' for {len(images)} images: give one label per image")
    if not (
        np.issubdtype(raw.dtype, np.integer) or (np.issubdtype(raw.dtype, np.floating) and (raw == np.round(raw)).all())
    ):
        raise DataError(f"{path}: labels '{lkey}' are not whole numbers (dtype {raw.dtype})")
    classes, labels = np.unique(raw.astype(np.int64), return_inverse=True)
    return (
        np.ascontiguousarray(images),
        labels.astype(np.int64),
        [str(c) for c in classes],
        f"{said}, labels '{lkey}', {len(classes)} classes",
    )


@register
class NpzArrays(ArrayFileSource):
    name = "npz"
    summary = "NumPy arrays in an .npz: images (uint8 or float, NHWC or NCHW) and optional labels"
    rank = 51
    hint = "the path of an .npz file, e.g. npz:digits.npz"

    def example(self, folder: Path) -> str:
        """arrays.npz: 6 RGB images of 8x8 as floats in [0, 1], NHWC, labels 0..1."""
        rng = np.random.default_rng(0)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "arrays.npz", images=rng.random((6, 8, 8, 3)), labels=np.arange(6) % 2)
        return f"{self.name}:arrays.npz"

    def read(self, path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str], str]:
        return read_npz(path)
