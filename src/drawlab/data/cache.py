"""On-disk cache of decoded folder images: ``<root>/cache/<fingerprint>.npy`` plus a ``.json`` sidecar."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from drawlab.data.dataset import DataWarning
from drawlab.errors import StorageError
from drawlab.files import atomic_write, atomic_write_bytes


def cache_files(root: Path, fingerprint: str) -> tuple[Path, Path]:
    """(images .npy, metadata .json) paths for a fingerprint."""
    d = root / "cache"
    return d / f"{fingerprint}.npy", d / f"{fingerprint}.json"


def load_cached(root: Path, fingerprint: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, dict[str, Any]] | None:
    """Cached uint8 (N, C, H, W) images and their metadata, or None when absent or unusable."""
    npy, meta_path = cache_files(root, fingerprint)
    try:
        meta = json.loads(meta_path.read_text())
        images = np.load(npy, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if images.dtype != np.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != tuple(shape):
        return None
    if meta.get("count") != images.shape[0]:
        return None
    return images, meta


def save_cached(root: Path, fingerprint: str, images: np.ndarray, meta: dict[str, Any]) -> None:
    """Store images + metadata (metadata first, so a present .npy always has its .json). Never raises."""
    npy, meta_path = cache_files(root, fingerprint)
    meta = dict(meta, count=int(images.shape[0]))
    try:
        npy.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(meta_path, json.dumps(meta).encode(), "cache")
        atomic_write(npy, lambda tmp: np.save(tmp, images, allow_pickle=False), "cache")
    except (OSError, StorageError) as exc:
        warnings.warn(f"could not write the image cache under {npy.parent}: {exc}", DataWarning, stacklevel=3)
