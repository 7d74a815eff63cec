"""Every registered metric (drawlab.metrics.REGISTRY) against known answers on a toy world, one test each.

The toy world: 16x16 grey images of four classes (a bright square in one quadrant), a fixed feature net (quadrant
means and a random projection) whose "classifier" reads the brightest quadrant. Generators: ``fresh`` (new draws
of the same kind), ``far`` (every image the class-0 square on a grey background: unlike the data, one mode) and
``copies`` (training images). A metric declares what it catches (``flaw``); the test checks that the better
generator scores better in its declared direction, that with ``floor`` the real set B in place of the generated
set gives exactly the real-data value, and that it is given exactly what it declares it needs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from drawlab.data import ImageDataset
from drawlab.metrics import REGISTRY, Metric, Need
from drawlab.metrics.features import FeatureNet
from drawlab.metrics.inputs import Bench, Context, ImageSet, NeedError, Training, real_sets
from drawlab.metrics.recording import Protocol, entries
from drawlab.metrics.registry import Flaw, Value, kind_of
from drawlab.records.evals import BETTER, MetricKind

CLASSES, SIDE, DATA, N = 4, 16, 400, 40
STEPS = 15  # training steps of CAS's classifiers
N_INCEPTION = 4  # Inception-v3 runs at 299x299 (~8 s a call on two cores): a few images, four calls
PROBE_NEEDS = {Need.FEATURES, Need.IMAGES, Need.CLASSIFIER, Need.LABELS}
METRICS = list(REGISTRY.values())


def draw(labels: torch.Tensor, seed: int, background: float = 20.0) -> torch.Tensor:
    """uint8 (N, 1, 16, 16): a 6x6 square (~200) at a random place in quadrant ``label``, noisy background."""
    g = torch.Generator().manual_seed(seed)
    x = background + 8 * torch.randn(len(labels), 1, SIDE, SIDE, generator=g)
    for i, k in enumerate(labels.tolist()):
        dy, dx = torch.randint(0, 3, (2,), generator=g).tolist()
        y0, x0 = 8 * (k // 2) + dy, 8 * (k % 2) + dx
        x[i, 0, y0 : y0 + 6, x0 : x0 + 6] = 200 + 15 * torch.randn(6, 6, generator=g)
    return x.round().clamp(0, 255).to(torch.uint8)


class ToyNet(nn.Module):
    """features: the four quadrant means and four fixed random projections; logits: 10 x quadrant means."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("proj", torch.randn(SIDE * SIDE, 4, generator=torch.Generator().manual_seed(0)) / SIDE)

    def _quadrants(self, x: torch.Tensor) -> torch.Tensor:
        q = x.reshape(len(x), 2, 8, 2, 8).mean(dim=(2, 4))
        return q.reshape(len(x), 4)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._quadrants(x), x.flatten(1) @ self.proj], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 10 * self._quadrants(x)


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """torch-fidelity's InceptionV3 with random weights, saved without any download (None: not installed)."""
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3 as Net
    except ImportError:
        return None
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    mp = pytest.MonkeyPatch()
    mp.setattr(torch, "load", lambda *a, **k: {})
    mp.setattr(Net, "load_state_dict", lambda self, sd, *a, **k: None)
    net = Net("inception-v3-compat", ["2048"], feature_extractor_weights_path="unused")
    mp.undo()
    torch.save(net.state_dict(), path)
    return path


class World:
    """The toy data, its feature net, real sets A and B of ``n``, and the three generators."""

    def __init__(self, n: int, tmp: Path, weights: Path | None):
        labels = torch.arange(DATA) % CLASSES
        self.ds = ImageDataset("toy", (1, SIDE, SIDE), CLASSES, list("abcd"), draw(labels, 1), labels, "toy")
        self.fnet = FeatureNet("toy-cnn", "cnn", ToyNet(), 8, CLASSES, {"heldout_accuracy": 0.95})
        self.real = self.real_a, self.real_b = real_sets(self.ds, self.fnet, n, seed=0)
        eval_dir = tmp / "eval"
        eval_dir.mkdir(parents=True, exist_ok=True)
        cpu, training = torch.device("cpu"), Training(STEPS, tmp / "cache")
        self.ctx = Context(self.fnet, cpu, 0, True, self.ds, training, weights, eval_dir)
        self.benches = {True: Bench(self.ctx, *self.real), False: Bench(Context(self.fnet, cpu, 0, False), *self.real)}
        self.values: dict[tuple[str, str, bool], Value] = {}
        req = (torch.arange(n) % CLASSES)[torch.randperm(n, generator=torch.Generator().manual_seed(4))]
        self.sets = {
            "fresh": ImageSet(draw(req, 2), self.fnet, req),
            "far": ImageSet(draw(torch.zeros(n, dtype=torch.long), 3, background=110.0), self.fnet, req),
            "copies": ImageSet(self.real_a.images, self.fnet, self.real_a.labels),
            "B": ImageSet(self.real_b.images, self.fnet, self.real_b.labels),
        }

    def value(self, metric: Metric, which: str, spreads: bool = True) -> Value:
        """The metric of the generated set ``which`` (computed once; the floor once per bench)."""
        key = (metric.key, which, spreads)
        if key not in self.values:
            inputs = self.benches[spreads].inputs(metric, self.sets[which])
            assert inputs.needs == metric.needs  # given exactly what it declared
            self.values[key] = metric.compute(inputs)
        return self.values[key]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory, inception_weights: Path | None) -> dict[int, World]:
    return {n: World(n, tmp_path_factory.mktemp(f"toy{n}"), inception_weights) for n in (N, N_INCEPTION)}


def world_for(metric: Metric, worlds: dict[int, World]) -> World:
    w = worlds[N_INCEPTION if Need.INCEPTION in metric.needs else N]
    if not metric.needs <= Bench(w.ctx, w.real_a, w.real_b).offers(w.sets["fresh"]):
        pytest.skip(f"{metric.key} needs what this machine lacks (torch-fidelity?)")
    return w


def better_than(metric: Metric, good: Value, bad: Value) -> bool:
    """Whether ``good`` scores better than ``bad`` in the metric's declared direction."""
    if metric.better == "lower":
        return good.value < bad.value
    if metric.better == "higher":
        return good.value > bad.value
    assert good.real is not None and bad.real is not None
    return abs(good.value - good.real) < abs(bad.value - bad.real)


def test_the_registry_finds_every_metric_module() -> None:
    found = set(REGISTRY)
    expected = {"fid", "kid", "swd", "precision", "recall", "density", "coverage", "modes", "class-kl", "cscore"}
    expected |= {"cond-acc", "cas", "fid-inception", "memorised-pixels", "memorised"}
    assert expected <= found
    assert [m.order for m in REGISTRY.values()] == sorted(m.order for m in REGISTRY.values())


def test_every_need_has_a_supplier(worlds: dict[int, World]) -> None:
    """What a full evaluation offers (a labelled generated set, weights given) is every Need there is."""
    w = worlds[N]
    if w.ctx.inception_weights is None:
        pytest.skip("torch-fidelity is not installed")
    assert Bench(w.ctx, w.real_a, w.real_b).offers(w.sets["fresh"]) == frozenset(Need)
    unlabelled = ImageSet(w.sets["fresh"].images, w.fnet, None)
    assert Need.LABELS not in Bench(w.ctx, w.real_a, w.real_b).offers(unlabelled)


@pytest.mark.parametrize("metric", METRICS, ids=[m.key for m in METRICS])
def test_metric_is_described_and_named(metric: Metric) -> None:
    assert metric.key and metric.title and metric.description and metric.spread
    assert [m.key for m in METRICS].count(metric.key) == 1
    assert [m.title for m in METRICS].count(metric.title) == 1
    assert metric.better in BETTER and metric.needs and metric.needs <= set(Need)
    assert isinstance(metric.flaw, Flaw) and (not metric.probe or metric.needs <= PROBE_NEEDS)
    for n in (300, 2500, 10_000):
        name = metric.name(n, "toy-cnn@abc123")
        assert kind_of(name) is metric, name
        assert sum(m.name(n, "toy-cnn@abc123") == name for m in METRICS) == 1


@pytest.mark.parametrize("metric", METRICS, ids=[m.key for m in METRICS])
def test_metric_known_answers(metric: Metric, worlds: dict[int, World]) -> None:
    w = world_for(metric, worlds)
    fresh = w.value(metric, "fresh")
    bad = w.value(metric, "far" if metric.flaw is Flaw.DISTRIBUTION else "copies")
    assert math.isfinite(fresh.value) and math.isfinite(bad.value)
    assert better_than(metric, fresh, bad), (fresh.value, bad.value, fresh.real)
    if metric.flaw is Flaw.DISTRIBUTION:  # new images like the data score near the real-data value
        assert fresh.real is not None and abs(fresh.value - fresh.real) < abs(bad.value - bad.real)
    if metric.floor:  # the real-data value is the metric of real set B against A: B in place gives exactly it
        same = w.value(metric, "B")
        assert same.value == same.real == fresh.real and same.spread == same.real_spread
    if metric.probe:  # the probe (no spreads) measures the same value
        assert w.value(metric, "fresh", spreads=False).value == fresh.value


@pytest.mark.parametrize("metric", METRICS, ids=[m.key for m in METRICS])
def test_metric_uses_nothing_undeclared(metric: Metric, worlds: dict[int, World]) -> None:
    """With one declared need taken away, the metric fails loudly (NeedError), never silently reads it."""
    w = world_for(metric, worlds)
    for need in sorted(metric.needs, key=lambda n: n.value):
        fewer = Metric(**{**metric.__dict__, "needs": metric.needs - {need}})
        bench = Bench(w.ctx, w.real_a, w.real_b)
        with pytest.raises(NeedError, match=need.value):
            fewer.compute(bench.inputs(fewer, w.sets["fresh"]))


@pytest.mark.parametrize("metric", METRICS, ids=[m.key for m in METRICS])
def test_metric_entry_reads_back_as_its_kind(metric: Metric, worlds: dict[int, World]) -> None:
    w = world_for(metric, worlds)
    n, fresh = len(w.real_a.images), w.value(metric, "fresh")
    (name, e), *_ = entries([(metric, fresh)], Protocol(n, n, 0, w.fnet, w.ctx.device)).items()
    assert kind_of(name) is metric and e["protocol"]["n"] == metric.n_used(n)
    assert MetricKind.of_entry(e["kind"], e) == MetricKind(
        metric.key, metric.title, metric.better, metric.spread, metric.description
    )
    assert e["value"] == float(fresh.value) and e["protocol"]["split_seed"] == (fresh.split_seed or 10_000)


def test_evaluate_skips_a_metric_whose_needs_are_not_offered(worlds: dict[int, World]) -> None:
    w = worlds[N]
    bench = Bench(Context(w.fnet, w.ctx.device, 0), w.real_a, w.real_b)  # no dataset, files, weights
    unlabelled = ImageSet(w.sets["fresh"].images, w.fnet, None)
    ran = {m.key for m, _ in bench.run(METRICS, unlabelled)}
    offered = bench.offers(unlabelled)
    assert ran == {m.key for m in METRICS if m.needs <= offered} and "fid" in ran and "cond-acc" not in ran
