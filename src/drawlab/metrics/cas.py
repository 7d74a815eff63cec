"""Classification accuracy score (Ravuri & Vinyals 2019) for conditional generators.

Train the domain classifier (the same architecture and schedule as the feature net's) on generated
images with the labels they were drawn for, and test it on real images it never saw. Beside it, the same
classifier trained on the same number of real labelled images and tested on the same real images: the
gap says how much of what a classifier needs the generator's classes carry. Spread: binomial standard error
over the test images. The real-data value is the same for every run evaluated on the same images with the
same seed and schedule: it is cached (``cache_dir``) under a hash of all of them, so each run trains one
classifier, not two.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch

from ..data import ImageDataset
from ..files import atomic_write_json
from .features import ARCH_VERSION, _build, _prepare, _train
from .inputs import Inputs
from .registry import Metric, Need, Value, register


def _accuracy(net: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            pred = net(_prepare(images[i : i + 1000].to(device))).argmax(1).cpu()
            correct += int((pred == labels[i : i + 1000]).sum())
    return correct / max(1, len(images))


def _trained_on(
    images: torch.Tensor, labels: torch.Tensor, like: ImageDataset, device: torch.device, seed: int, steps: int | None
) -> torch.nn.Module:
    ds = ImageDataset(
        name="cas-train",
        shape=(int(images.shape[1]), int(images.shape[2]), int(images.shape[3])),
        num_classes=like.num_classes,
        class_names=list(like.class_names),
        images=images,
        labels=labels,
        fingerprint="cas",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _build("cnn", ds)
    _train(net, "cnn", ds, device, steps, seed)
    return net


def _real_key(tensors: list[torch.Tensor], seed: int, steps: int | None) -> str:
    """A hash of the real sets, their labels, the seed, the schedule and the classifier's version."""
    h = hashlib.sha256(json.dumps({"seed": seed, "steps": steps, "arch": ARCH_VERSION}).encode())
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def real_accuracy(
    real_train: torch.Tensor,
    real_train_labels: torch.Tensor,
    real_test: torch.Tensor,
    real_test_labels: torch.Tensor,
    like: ImageDataset,
    device: torch.device,
    seed: int,
    steps: int | None,
    cache_dir: Path | None,
) -> float:
    """Accuracy on ``real_test`` of the classifier trained on ``real_train``; read from ``cache_dir`` when a run
    before computed it on exactly these images, else computed and written there."""
    path = None
    if cache_dir is not None:
        key = _real_key([real_train, real_train_labels, real_test, real_test_labels], seed, steps)
        path = Path(cache_dir) / f"cas-real-{key}.json"
        try:
            return float(json.loads(path.read_text())["accuracy"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or damaged: compute it again
    acc = _accuracy(
        _trained_on(real_train, real_train_labels, like, device, seed, steps), real_test, real_test_labels, device
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            path, {"accuracy": acc, "n_train": len(real_train), "n_test": len(real_test), "seed": seed, "steps": steps}
        )
    return acc


def classification_accuracy_score(
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    real_train: torch.Tensor,
    real_train_labels: torch.Tensor,
    real_test: torch.Tensor,
    real_test_labels: torch.Tensor,
    like: ImageDataset,
    device: torch.device,
    seed: int = 0,
    steps: int | None = None,
    cache_dir: Path | None = None,
) -> tuple[float, float, float, float]:
    """(CAS, its standard error, the real-data accuracy, its standard error); uint8 images (N, C, H, W).
    ``steps``: the classifiers' training steps (default: the feature net's schedule for that many images);
    ``cache_dir``: where the real-data accuracy is cached (None: computed every time)."""
    n = len(real_test)
    cas = _accuracy(_trained_on(fake, fake_labels, like, device, seed, steps), real_test, real_test_labels, device)
    real = real_accuracy(
        real_train, real_train_labels, real_test, real_test_labels, like, device, seed, steps, cache_dir
    )
    se = lambda p: math.sqrt(max(p * (1 - p), 0.0) / max(1, n))  # noqa: E731
    return cas, se(cas), real, se(real)


def _cas(inp: Inputs) -> Value:
    g, a, b = inp.generated, inp.real_a, inp.real_b
    t = inp.training
    v, s, rv, rs = classification_accuracy_score(
        g.images,
        g.labels,
        a.images,
        a.labels,
        b.images,
        b.labels,
        inp.dataset,
        inp.device,
        inp.seed,
        t.steps,
        t.cache_dir,
    )
    return Value(v, s, rv, rs)


CAS = register(
    Metric(
        key="cas",
        title="classification accuracy score",
        better="higher",
        spread="binomial standard error",
        description="accuracy on real held-out images of a classifier trained on generated images with their labels "
        "(Ravuri & Vinyals 2019); real: the same classifier trained on as many real images",
        needs=frozenset({Need.IMAGES, Need.LABELS, Need.DATASET, Need.TRAINING}),
        compute=_cas,
        floor=False,
        order=120,
        space="a classifier trained on the generated images",
        say="classification accuracy score (two classifiers) ...",
    )
)
