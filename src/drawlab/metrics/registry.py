"""The registry of metrics: each metric is one ``Metric`` object, registered by the module that computes it.

A new metric is one new file in this package that calls ``register(Metric(...))``: the package imports
every module (``metrics/__init__.py``), `drawlab evaluate` computes every registered metric whose
``needs`` it can supply, `drawlab compare` and the report show it, and tests/test_conformance_metrics.py
checks it. Names carry the protocol: ``{stem}{n}-{tag}``, e.g. ``fid2.5k-mnist-5k-cnn@3fa9c1``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..records.evals import MetricKind

if TYPE_CHECKING:
    from .inputs import Inputs


class Need(enum.Enum):
    """What a metric may be given (``Inputs``); it is given exactly what it declares."""

    FEATURES = "features"  # the feature net's features (N, D) of each set; Inputs.features_of(images)
    IMAGES = "images"  # uint8 images (N, C, H, W) of each set
    CLASSIFIER = "classifier"  # the data's classifier: class probabilities (N, K) of each set, classes, accuracy
    LABELS = "labels"  # labels (N,) of each set (requested ones for the generated set): conditional models
    DATASET = "dataset"  # the whole training set (Inputs.dataset)
    TRAINING = "training"  # what training another classifier takes: Inputs.train_steps, Inputs.cache_dir
    INCEPTION = "inception"  # local Inception-v3 weights (Inputs.inception_weights)
    FILES = "files"  # Inputs.eval_dir: where the metric may write pictures (RUN/eval)


class Flaw(enum.Enum):
    """What a metric catches: the kind of generator it scores worse."""

    DISTRIBUTION = "distribution"  # samples unlike the data score worse than samples like it
    COPIES = "copies"  # samples copied from the training images score worse than new ones


@dataclass
class Value:
    """One metric's result: its value and the real-data reference, each with its ± (None: none)."""

    value: float
    spread: float | None = None
    real: float | None = None
    real_spread: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more of the entry (per-level values, histograms)
    about: dict[str, Any] = field(default_factory=dict)  # merged into eval.json's protocol block
    files: dict[str, str] = field(default_factory=dict)  # pictures written, relative to the run
    split_seed: int | None = None  # when the real data was split otherwise than into the sets A and B


@dataclass(frozen=True)
class Metric(MetricKind):
    """One metric. ``compute`` gets ``Inputs`` holding exactly ``needs``. With ``floor``, ``real`` is the same
    metric between two disjoint real sets (B against A, ``Inputs.against_a``); otherwise the metric's own
    reference. Computed in ``order``; ``probe``: also in the in-training probe (`--eval-every`)."""

    needs: frozenset[Need]
    compute: Callable[[Inputs], Value]
    floor: bool
    order: int
    flaw: Flaw = Flaw.DISTRIBUTION
    stem: str | None = None  # the name's start when not the key (fid-inception: 'fid')
    tag: str | None = None  # the name's protocol tag; None: the feature net's tag, '': none
    space: str | None = None  # what it measures in; None: the feature net's features
    max_n: int | None = None  # measured on at most this many generated images
    probe: bool = False
    say: str | None = None  # said before it is computed (the slow ones)

    def n_used(self, n: int) -> int:
        return n if self.max_n is None else min(n, self.max_n)

    def name(self, n: int, net_tag: str) -> str:
        """The full name for ``n`` generated images in the feature net tagged ``net_tag``."""
        tag = net_tag if self.tag is None else self.tag
        return f"{self.stem or self.key}{n_tag(self.n_used(n))}" + (f"-{tag}" if tag else "")

    def matches(self, name: str) -> bool:
        """Whether a full metric name is one of this metric's (at any n, in any feature net)."""
        m = re.fullmatch(re.escape(self.stem or self.key) + r"\d+(?:\.\d+)?k?(?:-(.+))?", name)
        if m is None:
            return False
        if self.tag is None:
            return m.group(1) is not None
        return (m.group(1) or "") == self.tag


REGISTRY: dict[str, Metric] = {}  # key -> metric, kept in computing order
KINDS: Mapping[str, MetricKind] = REGISTRY  # what readers need of each kind, in computing order


def register(metric: Metric) -> Metric:
    """Add ``metric`` (its key unique) and keep the registry in computing order; returns it."""
    if metric.key in REGISTRY and REGISTRY[metric.key] is not metric:
        raise ValueError(f"two metrics with the key {metric.key!r}")
    REGISTRY[metric.key] = metric
    ordered = sorted(REGISTRY.values(), key=lambda m: (m.order, m.key))
    REGISTRY.clear()
    REGISTRY.update((m.key, m) for m in ordered)
    return metric


def n_tag(n: int) -> str:
    """10000 -> '10k', 2500 -> '2.5k', 300 -> '300'."""
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def metric_name(key: str, n: int, net_tag: str) -> str:
    """The full name of the metric ``key`` for ``n`` generated images in the feature net ``net_tag``."""
    return REGISTRY[key].name(n, net_tag)


def kind_of(name: str) -> Metric | None:
    """The metric of a full name (fixed tags first, then the longest stem)."""
    for m in sorted(REGISTRY.values(), key=lambda m: (m.tag is None, -len(m.stem or m.key))):
        if m.matches(name):
            return m
    return None
