"""In-training evaluation (`drawlab train --eval-every N`): the main metrics of `drawlab evaluate`
on fewer images (FID, precision, recall, coverage; modes and conditional accuracy for labelled
data), cheap enough to log as curves; FID picks the best checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..data import ImageDataset
from ..models import Family
from . import coverage, frechet, prdc
from .evaluate import generate, metric_name, plan_n
from .features import FEATURE_DIM, get_feature_net, real_images


class FIDProbe:
    """Computes ``fid{n}-{net}`` (and its companions) for a family against a fixed random set of real images.

    The real features are computed once; each call draws ``n`` images from fixed seeded noise, so
    successive values differ only through training. Floor: the same FID between two real sets.
    """

    def __init__(
        self,
        ds: ImageDataset,
        n: int,
        root: str | Path | None,
        device: torch.device,
        echo: Callable[[str], None] | None = None,
        seed: int = 0,
    ):
        self.n, _ = plan_n(n, len(ds), FEATURE_DIM)
        self.device, self.seed = device, seed
        self.fnet = get_feature_net(ds, root, device, echo=echo)
        g = torch.Generator().manual_seed(10_000 + seed)
        perm = torch.randperm(len(ds), generator=g)
        self.f_real = self.fnet.features(real_images(ds, perm[: self.n].sort().values))
        f_b = self.fnet.features(real_images(ds, perm[self.n : 2 * self.n].sort().values))
        self.name = metric_name("fid", self.n, self.fnet.tag)
        self.floor = frechet.fid(f_b, self.f_real)

    def __call__(self, family: Family) -> dict[str, float]:
        """{fid name: FID, fid name + "_floor": real-vs-real FID, precision/recall/coverage/modes/cond-acc
        names: values}; FID lower is better, the others higher."""
        fake, req = generate(family, family.cfg.z_dim, self.n, self.seed)
        f_fake = self.fnet.features(fake)
        value = frechet.fid(f_fake, self.f_real)
        out = {self.name: float(value) if np.isfinite(value) else float("inf"), self.name + "_floor": self.floor}
        pr = prdc.prdc(self.f_real, f_fake)
        for key in ("precision", "recall", "coverage"):
            out[metric_name(key, self.n, self.fnet.tag)] = float(getattr(pr, key))
        if self.fnet.is_classifier:
            probs = self.fnet.probs(fake)
            out[metric_name("modes", self.n, self.fnet.tag)] = float(coverage.modes_covered(probs))
            if family.conditional and family.num_classes == self.fnet.num_classes:
                acc, _, _ = coverage.conditional_accuracy(probs, req.numpy())
                out[metric_name("cond-acc", self.n, self.fnet.tag)] = float(acc)
        return out
