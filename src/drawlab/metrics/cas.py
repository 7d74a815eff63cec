"""Classification accuracy score (Ravuri & Vinyals 2019) for conditional generators.

Train the domain classifier (the same architecture and schedule as the feature net's) on generated
images with the labels they were drawn for, and test it on real images it never saw. Beside it, the same
classifier trained on the same number of real labelled images and tested on the same real images: the
gap says how much of what a classifier needs the generator's classes carry. Spread: binomial standard error
over the test images.
"""
from __future__ import annotations

import math

import torch

from ..data import ImageDataset
from .features import _build, _prepare, _train


def _accuracy(net: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            pred = net(_prepare(images[i:i + 1000].to(device))).argmax(1).cpu()
            correct += int((pred == labels[i:i + 1000]).sum())
    return correct / max(1, len(images))


def _trained_on(images: torch.Tensor, labels: torch.Tensor, like: ImageDataset, device: torch.device,
                seed: int, steps: int | None) -> torch.nn.Module:
    ds = ImageDataset(name="cas-train", shape=tuple(images.shape[1:]), num_classes=like.num_classes,
                      class_names=list(like.class_names), images=images, labels=labels, fingerprint="cas")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _build("cnn", ds)
    _train(net, "cnn", ds, device, steps, seed)
    return net


def classification_accuracy_score(fake: torch.Tensor, fake_labels: torch.Tensor, real_train: torch.Tensor,
                                  real_train_labels: torch.Tensor, real_test: torch.Tensor,
                                  real_test_labels: torch.Tensor, like: ImageDataset, device: torch.device,
                                  seed: int = 0, steps: int | None = None) -> tuple[float, float, float, float]:
    """(CAS, its standard error, the real-data accuracy, its standard error); uint8 images (N, C, H, W).
    ``steps``: the classifiers' training steps (default: the feature net's schedule for that many images)."""
    n = len(real_test)
    cas = _accuracy(_trained_on(fake, fake_labels, like, device, seed, steps), real_test, real_test_labels, device)
    real = _accuracy(_trained_on(real_train, real_train_labels, like, device, seed, steps), real_test,
                     real_test_labels, device)
    se = lambda p: math.sqrt(max(p * (1 - p), 0.0) / max(1, n))  # noqa: E731
    return cas, se(cas), real, se(real)
