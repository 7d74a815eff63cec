"""What metrics are computed on: the generated set, the real sets A (reference) and B (floor), and the rest of
an evaluation (``Context``), handed to each metric as ``Inputs`` holding exactly what it declared it needs.

The real data is split into A and B by ``split_real`` only (`drawlab evaluate` and the in-training probe).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from ..data import ImageDataset
from ..models import Family
from .features import FeatureNet, real_images
from .registry import Metric, Need, Value

SPLIT_SEED = 10_000  # plus the evaluation's seed: the split of the real data into the sets A and B
T = TypeVar("T")


def split_real(size: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted indices of real set A and real set B: ``n`` each of ``size`` images, disjoint, drawn with the
    seed ``SPLIT_SEED + seed``."""
    perm = torch.randperm(size, generator=torch.Generator().manual_seed(SPLIT_SEED + seed))
    return perm[:n].sort().values, perm[n : 2 * n].sort().values


class ImageSet:
    """``n`` uint8 images (N, C, H, W), their labels (N,) or None, and what the feature net makes of them,
    each computed once, on first use."""

    def __init__(self, images: torch.Tensor, fnet: FeatureNet, labels: torch.Tensor | None = None):
        self.images, self.fnet, self.labels = images, fnet, labels

    @cached_property
    def features(self) -> np.ndarray:
        return self.fnet.features(self.images)

    @cached_property
    def probs(self) -> np.ndarray:
        return self.fnet.probs(self.images)


def real_sets(ds: ImageDataset, fnet: FeatureNet, n: int, seed: int) -> tuple[ImageSet, ImageSet]:
    """Real sets A and B of ``n`` images each (``split_real``), with their labels when the data has them."""

    def subset(idx: torch.Tensor) -> ImageSet:
        return ImageSet(real_images(ds, idx), fnet, None if ds.labels is None else ds.labels[idx])

    a, b = split_real(len(ds), n, seed)
    return subset(a), subset(b)


def generated_set(images: torch.Tensor, requested: torch.Tensor, fnet: FeatureNet, family: Family) -> ImageSet:
    """The generated images; their requested labels kept where they are the classifier's classes."""
    labelled = family.conditional and fnet.is_classifier and family.num_classes == fnet.num_classes
    return ImageSet(images, fnet, requested if labelled else None)


@dataclass(frozen=True)
class Training:
    """What training another classifier of the data takes (CAS)."""

    steps: int | None  # None: the feature net's schedule
    cache_dir: Path | None  # where results on real data are cached; None: never cached


@dataclass(frozen=True)
class Context:
    """An evaluation beside its three sets; a need whose field is None is not offered."""

    fnet: FeatureNet
    device: torch.device
    seed: int
    spreads: bool = True  # False in the training probe: no resampling that only the ± needs
    dataset: ImageDataset | None = None
    training: Training | None = None
    inception_weights: Path | None = None
    eval_dir: Path | None = None


class NeedError(RuntimeError):
    """A metric used an input it did not declare, or was given one that is not there (a bug, not bad input)."""


class Bench:
    """The real sets A and B of one evaluation (or one probe, over many calls) and its ``Context``; hands each
    metric its ``Inputs``. The floors (B against A) are computed once per bench."""

    def __init__(self, ctx: Context, real_a: ImageSet, real_b: ImageSet):
        self.ctx, self.real_a, self.real_b = ctx, real_a, real_b
        self.floors: dict[Any, Any] = {}

    def offers(self, generated: ImageSet) -> frozenset[Need]:
        """The needs this bench can supply for ``generated``."""
        c = self.ctx
        have = {Need.FEATURES, Need.IMAGES}
        if c.fnet.is_classifier:
            have.add(Need.CLASSIFIER)
            if generated.labels is not None and self.real_a.labels is not None:
                have.add(Need.LABELS)
        for need, value in (
            (Need.DATASET, c.dataset),
            (Need.TRAINING, c.training),
            (Need.INCEPTION, c.inception_weights),
            (Need.FILES, c.eval_dir),
        ):
            if value is not None:
                have.add(need)
        return frozenset(have)

    def inputs(self, metric: Metric, generated: ImageSet, shared: dict[Any, Any] | None = None) -> Inputs:
        """``metric``'s inputs: exactly its needs (NeedError when one is not offered)."""
        missing = metric.needs - self.offers(generated)
        if missing:
            raise NeedError(f"metric {metric.key!r} needs {sorted(n.value for n in missing)}: not offered here")
        return Inputs(metric, self, generated, {} if shared is None else shared)

    def run(
        self, metrics: Iterable[Metric], generated: ImageSet, say: Callable[[str], None] | None = None
    ) -> list[tuple[Metric, Value]]:
        """Every metric of ``metrics`` whose needs are offered, in order, with its value."""
        offered = self.offers(generated)
        shared: dict[Any, Any] = {}
        out = []
        for m in metrics:
            if m.needs <= offered:
                if m.say and say is not None:
                    say(m.say)
                out.append((m, m.compute(self.inputs(m, generated, shared))))
        return out


class Sample:
    """One set as a metric sees it: only what the metric declared."""

    def __init__(self, s: ImageSet, inp: Inputs):
        self._s, self._inp = s, inp

    def __len__(self) -> int:
        return len(self._s.images)

    @property
    def images(self) -> torch.Tensor:
        """uint8 (N, C, H, W)."""
        self._inp.need(Need.IMAGES)
        return self._s.images

    @property
    def features(self) -> np.ndarray:
        """float64 (N, D) in the feature net."""
        self._inp.need(Need.FEATURES)
        return self._s.features

    @property
    def probs(self) -> np.ndarray:
        """float64 (N, K) class probabilities of the data's classifier."""
        self._inp.need(Need.CLASSIFIER)
        return self._s.probs

    @property
    def labels(self) -> torch.Tensor:
        """int64 (N,) in [0, K): requested ones for generated images."""
        self._inp.need(Need.LABELS)
        assert self._s.labels is not None  # LABELS is offered only then
        return self._s.labels


class Inputs:
    """What one metric is given: the three sets, n, the seed, and the declared extras."""

    def __init__(self, metric: Metric, bench: Bench, generated: ImageSet, shared: dict[Any, Any]):
        self.key, self.needs = metric.key, metric.needs
        self._bench, self._ctx, self._shared = bench, bench.ctx, shared
        self.generated = Sample(generated, self)
        self.real_a, self.real_b = Sample(bench.real_a, self), Sample(bench.real_b, self)
        self.n = len(generated.images)
        self.seed, self.device, self.spreads = self._ctx.seed, self._ctx.device, self._ctx.spreads

    def need(self, need: Need) -> None:
        """NeedError unless the metric declared ``need``."""
        if need not in self.needs:
            raise NeedError(f"metric {self.key!r} uses {need.value!r} without declaring it in its needs")

    def features_of(self, images: torch.Tensor) -> np.ndarray:
        """Features (N, D) of other uint8 images (N, C, H, W)."""
        self.need(Need.FEATURES)
        return self._ctx.fnet.features(images)

    @property
    def classes(self) -> int:
        self.need(Need.CLASSIFIER)
        return self._ctx.fnet.num_classes

    @property
    def classifier_accuracy(self) -> float | None:
        """The classifier's accuracy on its held-out real images."""
        self.need(Need.CLASSIFIER)
        return self._ctx.fnet.accuracy

    @property
    def dataset(self) -> ImageDataset:
        self.need(Need.DATASET)
        assert self._ctx.dataset is not None
        return self._ctx.dataset

    @property
    def training(self) -> Training:
        self.need(Need.TRAINING)
        assert self._ctx.training is not None
        return self._ctx.training

    @property
    def inception_weights(self) -> Path:
        self.need(Need.INCEPTION)
        assert self._ctx.inception_weights is not None
        return self._ctx.inception_weights

    @property
    def eval_dir(self) -> Path:
        self.need(Need.FILES)
        assert self._ctx.eval_dir is not None
        return self._ctx.eval_dir

    def against_a(self, measure: Callable[[Sample, Sample, Inputs], T]) -> tuple[T, T]:
        """(measure(generated, A), measure(B, A)): the value and its real-data floor, each computed once per
        evaluation (metrics sharing ``measure`` share the results; the floor once per bench)."""
        key = ("against_a", measure)
        if key not in self._shared:
            self._shared[key] = measure(self.generated, self.real_a, self)
        floors = self._bench.floors
        if measure not in floors:
            floors[measure] = measure(self.real_b, self.real_a, self)
        return self._shared[key], floors[measure]

    def once(self, fn: Callable[[Inputs], T]) -> T:
        """``fn(self)``, computed once per evaluation for all the metrics that ask for it."""
        if fn not in self._shared:
            self._shared[fn] = fn(self)
        return self._shared[fn]
