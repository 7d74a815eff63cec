"""The dataset object every source returns: images in memory, or streamed item by item."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

import torch


class DataWarning(UserWarning):
    """A data problem that does not stop a run (e.g. skipped unreadable files)."""


class ItemReader(Protocol):
    """Loads one item of a streaming dataset; must be picklable (DataLoader workers)."""

    def __len__(self) -> int: ...

    def read(self, i: int) -> tuple[torch.Tensor, int]:
        """(uint8 (C, H, W), j): the image of item ``j``, which is ``i`` unless item ``i`` could not be
        read and another stood in for it (the label must then be ``j``'s too)."""
        ...


@dataclass
class ImageDataset:
    """Images of one shape, uint8 in [0, 255], optionally labelled.

    ``images`` is uint8 (N, C, H, W) when in memory, ``None`` when streaming;
    ``labels`` is int64 (N,) in [0, num_classes) or ``None`` when unlabelled.
    """

    name: str
    shape: tuple[int, int, int]
    num_classes: int
    class_names: list[str]
    images: torch.Tensor | None
    labels: torch.Tensor | None
    fingerprint: str
    notice: str | None = None

    def __len__(self) -> int:
        assert self.images is not None
        return int(self.images.shape[0])

    def load_item(self, i: int) -> tuple[torch.Tensor, int]:
        """Item ``i``: (uint8 (C, H, W), label int; 0 when unlabelled)."""
        assert self.images is not None
        return self.images[i], self._label(i)

    @property
    def in_memory(self) -> bool:
        return self.images is not None

    def _label(self, i: int) -> int:
        return int(self.labels[i]) if self.labels is not None else 0

    def __repr__(self) -> str:
        mode = "in memory" if self.in_memory else "streaming"
        return (
            f"ImageDataset({self.name!r}, n={len(self)}, shape={self.shape}, "
            f"classes={self.num_classes}, {mode}, fingerprint={self.fingerprint})"
        )


@dataclass(repr=False)
class StreamingImageDataset(ImageDataset):
    """A dataset too big to hold as uint8: ``images`` is None and ``reader`` loads item by item."""

    reader: ItemReader | None = field(default=None)

    def __len__(self) -> int:
        assert self.reader is not None
        return len(self.reader)

    def load_item(self, i: int) -> tuple[torch.Tensor, int]:
        """Item ``i``: (uint8 (C, H, W), label int; 0 when unlabelled)."""
        assert self.reader is not None
        image, j = self.reader.read(i)
        return image, self._label(j)  # a stand-in image keeps its own label


def make_fingerprint(*parts: object) -> str:
    """16 hex chars hashing the given parts (bytes are hashed raw, the rest by ``repr``)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(b"drawlab-data-v1")
    for part in parts:
        data = part if isinstance(part, (bytes, bytearray, memoryview)) else repr(part).encode()
        h.update(memoryview(data).nbytes.to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()
