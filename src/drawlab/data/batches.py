"""Deterministic, resumable, infinite training batches from an ImageDataset."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from drawlab.data.dataset import ImageDataset
from drawlab.errors import DataError

SEED_STRIDE = 1000003


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """int64 (n,) order of epoch ``epoch``: torch.randperm seeded with seed * 1000003 + epoch."""
    g = torch.Generator()
    g.manual_seed((seed * SEED_STRIDE + epoch) % (1 << 64))
    return torch.randperm(n, generator=g)


class EpochBatchSampler:
    """Infinite index batches: step s is batch (s % steps_per_epoch) of epoch (s // steps_per_epoch).

    ``start_step`` may be changed between iterations (the next ``iter`` starts there).
    """

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0, rows: slice = slice(None)) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.steps_per_epoch = n // batch_size
        self.start_step = start_step
        self.rows = rows  # this process's rows of each (global) batch

    def __iter__(self) -> Iterator[list[int]]:
        b, epoch, perm = self.batch_size, -1, torch.empty(0, dtype=torch.int64)
        step = self.start_step
        while True:
            e, j = divmod(step, self.steps_per_epoch)
            if e != epoch:
                epoch, perm = e, epoch_permutation(self.n, self.seed, e)
            yield perm[j * b : (j + 1) * b][self.rows].tolist()
            step += 1


class _Items(Dataset):
    """Map-style view for DataLoader: item i -> (uint8 (C, H, W), label int)."""

    def __init__(self, ds: ImageDataset) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.ds.load_item(i)


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]: (x - 127.5) * (1 / 127.5), two exactly rounded steps, so
    0 -> -1 and 255 -> 1 exactly and CPU and CUDA give bit-identical values (x / 127.5 - 1 does not)."""
    return x.float().sub_(127.5).mul_(1.0 / 127.5)


class Batches:
    """Deterministic infinite batches: epoch e uses torch.randperm(N, generator seeded with
    seed*1000003+e); drops the last incomplete batch; step s is batch (s % steps_per_epoch) of
    epoch (s // steps_per_epoch). ``batch_size`` is the global batch: process ``rank`` of ``world``
    (data-parallel training) gets rows [rank * b, (rank + 1) * b) of it, b = batch_size / world. In-memory datasets are indexed directly (on the GPU when
    device is cuda); streaming ones go through a DataLoader with ``workers`` processes.
    Only one ``iterate`` generator should be consumed at a time.
    """

    def __init__(
        self,
        ds: ImageDataset,
        batch_size: int,
        seed: int,
        device: torch.device | str = "cpu",
        workers: int = 2,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        n = len(ds)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise DataError(f"batch size must be a whole number >= 1, got {batch_size!r}")
        if batch_size > n:
            raise DataError(
                f"batch size {batch_size} is larger than the dataset {ds.name} ({n} images): "
                f"use a batch size of at most {n}"
            )
        if batch_size % world:
            raise DataError(
                f"the batch size {batch_size} is the global batch of {world} processes and must be a "
                f"multiple of {world}: use --batch-size {max(world, batch_size // world * world)}"
            )
        self.ds = ds
        self.batch_size = batch_size
        local = batch_size // world
        self.rows = slice(rank * local, (rank + 1) * local)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.workers = max(0, int(workers))
        self.steps_per_epoch = n // batch_size
        self._images: torch.Tensor | None = None  # uint8 images on self.device (in-memory path)
        self._labels: torch.Tensor | None = None
        self._sampler: EpochBatchSampler | None = None
        self._loader: DataLoader | None = None

    def iterate(self, start_step: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yields (x float32 (B, C, H, W) in [-1, 1], y int64 (B,); zeros when unlabelled), both on
        device, forever, beginning at step ``start_step``."""
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        if self.ds.in_memory:
            return self._iterate_memory(start_step)
        return self._iterate_stream(start_step)

    def _iterate_memory(self, start_step: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._images is None:  # moved to the device once, at the first iterate
            assert self.ds.images is not None
            self._images = self.ds.images.to(self.device)
            if self.ds.labels is not None:
                self._labels = self.ds.labels.to(self.device)
        images, labels, b = self._images, self._labels, self.batch_size
        epoch, perm = -1, torch.empty(0, dtype=torch.int64)
        step = start_step
        while True:
            e, j = divmod(step, self.steps_per_epoch)
            if e != epoch:
                epoch, perm = e, epoch_permutation(len(self.ds), self.seed, e).to(self.device)
            idx = perm[j * b : (j + 1) * b][self.rows]
            x = to_unit_range(images.index_select(0, idx))
            if labels is not None:
                y = labels.index_select(0, idx)
            else:
                y = torch.zeros(len(idx), dtype=torch.int64, device=self.device)
            yield x, y
            step += 1

    def _make_loader(self) -> DataLoader:
        self._sampler = EpochBatchSampler(len(self.ds), self.batch_size, self.seed, rows=self.rows)
        return DataLoader(
            _Items(self.ds),
            batch_sampler=self._sampler,
            num_workers=self.workers,
            persistent_workers=self.workers > 0,
            pin_memory=self.device.type == "cuda",
        )

    def _iterate_stream(self, start_step: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._loader is None:
            self._loader = self._make_loader()
        assert self._sampler is not None
        self._sampler.start_step = start_step
        non_blocking = self.device.type == "cuda"
        for xb, yb in self._loader:
            x = to_unit_range(xb.to(self.device, non_blocking=non_blocking))
            yield x, yb.to(self.device, non_blocking=non_blocking)
