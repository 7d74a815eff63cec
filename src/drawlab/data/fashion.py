"""``fashion``: the Fashion-MNIST training split from the data root, the Debian package or a download."""

from __future__ import annotations

import os
from pathlib import Path

from drawlab.data.base import register
from drawlab.data.digits import IDX_STEMS, Arrays, DigitsSource, idx_pair
from drawlab.data.download import download_train_split
from drawlab.errors import DataError

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
# Where the Debian package dataset-fashion-mnist installs the files; env DRAWLAB_FASHION_DIR overrides.
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def fashion_dirs(root: Path) -> list[Path]:
    """Folders searched for Fashion-MNIST, in order: the data root, then the Debian package's."""
    debian = os.environ.get("DRAWLAB_FASHION_DIR") or str(FASHION_DEBIAN_DIR)
    return [root / "FashionMNIST" / "raw", Path(debian)]


def load_fashion(root: Path) -> Arrays:
    """Fashion-MNIST train split from the data root, the Debian package, or a download."""
    dirs = fashion_dirs(root)
    for directory in dirs:
        arrays = idx_pair(directory)
        if arrays is not None:
            return arrays
    reason = download_train_split("FashionMNIST", root)
    arrays = idx_pair(dirs[0]) if reason is None else None
    if arrays is None:
        raise DataError(
            f"Fashion-MNIST not found in {dirs[0]} or {dirs[1]} and could not be downloaded "
            f"({reason}): run `apt-get install dataset-fashion-mnist` or put "
            f"{IDX_STEMS[0]}.gz and {IDX_STEMS[1]}.gz under {dirs[0]}"
        )
    return arrays


@register
class Fashion(DigitsSource):
    name = "fashion"
    summary = "Fashion-MNIST clothing, 60,000 28x28 gray, 10 classes (Debian dataset-fashion-mnist)"
    rank = 30
    classes = FASHION_CLASSES

    def load(self, root: Path) -> tuple[Arrays, str, str | None]:
        return load_fashion(root), self.name, None
