"""Building blocks of the MNIST-style sources (``mnist.py``, ``mnist_5k.py``, ``fashion.py``): reading the
IDX pair, wrapping native arrays as a dataset, and ``DigitsSource``, their common base. Registers nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from drawlab.data.base import Argument, Source, Spec, user_path
from drawlab.data.dataset import ImageDataset, StreamingImageDataset, make_fingerprint
from drawlab.data.idx import find_idx, read_image_label_pair
from drawlab.data.transforms import TensorItemReader, transform_u8
from drawlab.errors import DataError

if TYPE_CHECKING:
    from drawlab.config import DataConfig

NATIVE_SIZE = 28
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
DIGIT_CLASSES = [str(d) for d in range(10)]

Arrays = tuple[np.ndarray, np.ndarray]  # uint8 (N, 1, 28, 28), int64 (N,)
NativeArrays = tuple[np.ndarray, np.ndarray | None]  # uint8 (N, C, S, S), int64 (N,) or None (unlabelled)


def idx_pair(directory: Path) -> Arrays | None:
    """The train images/labels IDX pair in ``directory`` (plain or .gz), or None if absent."""
    images, labels = (find_idx(directory, stem) for stem in IDX_STEMS)
    if images is None or labels is None:
        return None
    return read_image_label_pair(images, labels)


def dataset_from_arrays(
    name: str,
    arrays: NativeArrays,
    class_names: list[str],
    size: int | None,
    channels: int | None,
    max_memory_bytes: int,
    notice: str | None = None,
) -> ImageDataset:
    """Wrap native uint8 (N, C, S, S) images and int64 labels (N,) (or None: unlabelled); resize/convert them
    in memory (default size: the native S), or stream if too big."""
    images = torch.from_numpy(np.ascontiguousarray(arrays[0]))
    labels = torch.from_numpy(arrays[1]) if arrays[1] is not None else None
    size = int(images.shape[-1]) if size is None else size
    channels = images.shape[1] if channels is None else channels
    if labels is not None and labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(class_names)):
        raise DataError(f"{name}: labels outside 0..{len(class_names) - 1}; the label file is broken")
    label_bytes = arrays[1].data.cast("B") if arrays[1] is not None else b""
    fingerprint = make_fingerprint(name, np.ascontiguousarray(arrays[0]).data.cast("B"), label_bytes, size, channels)
    common: dict[str, Any] = dict(
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


class DigitsSource(Source):
    """An MNIST-style source: native uint8 (N, 1, 28, 28) arrays, labelled with ``classes``, resized and
    converted in memory or streamed. Subclasses implement ``load``."""

    classes: ClassVar[list[str]] = DIGIT_CLASSES

    def load(self, root: Path) -> tuple[Arrays, str, str | None]:
        """(arrays, the dataset's name, a notice or None) from the data root (or wherever the data lives)."""
        raise NotImplementedError

    def open(self, spec: Spec, dc: DataConfig, root: Path, max_memory_bytes: int) -> ImageDataset:
        arrays, name, notice = self.load(root)
        return dataset_from_arrays(name, arrays, self.classes, dc.size, dc.channels, max_memory_bytes, notice)


class ArrayFileSource(Source):
    """A source that reads one file of its own format (``NAME:PATH``) into native arrays: subclasses implement
    ``read``; what was understood is said in the run's log (the dataset's notice)."""

    argument = Argument.FILE

    def read(self, path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str], str]:
        """(images uint8 (N, C, S, S), labels int64 (N,) or None, class names, one line of what was understood)."""
        raise NotImplementedError

    def open(self, spec: Spec, dc: DataConfig, root: Path, max_memory_bytes: int) -> ImageDataset:
        assert spec.arg is not None
        path = user_path(spec.arg)
        if not path.is_file():
            raise DataError(f"{self.name}:{spec.arg}: no such file")
        images, labels, classes, said = self.read(path)
        name = f"{self.name}-{path.stem}"
        return dataset_from_arrays(name, (images, labels), classes, dc.size, dc.channels, max_memory_bytes, said)
