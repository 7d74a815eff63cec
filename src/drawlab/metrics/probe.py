"""In-training evaluation (`drawlab train --eval-every N`): the registered metrics marked ``probe`` (FID,
precision, recall, coverage; modes and conditional accuracy for labelled data) on fewer images, cheap enough
to log as curves, without the resampling that only their ± needs; FID picks the best checkpoint."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch

from ..data import ImageDataset
from ..models import Family
from .evaluate import generate, plan_n
from .features import FEATURE_DIM, get_feature_net
from .inputs import Bench, Context, generated_set, real_sets
from .registry import REGISTRY

BEST = "fid"  # the key of the metric that picks the best checkpoint (lower is better)


class FIDProbe:
    """Computes ``fid{n}-{net}`` (and its companions) for a family against a fixed random set of real images.

    The real sets are drawn once (as `drawlab evaluate` draws them); each call draws ``n`` images from fixed
    seeded noise, so successive values differ only through training. Floor: the same FID between two real sets.
    """

    def __init__(
        self,
        ds: ImageDataset,
        n: int,
        root: str | Path | None,
        device: torch.device,
        echo: Callable[[str], None] | None = None,
        seed: int = 0,
        tag: str = "",
    ):
        self.n, _ = plan_n(n, len(ds), FEATURE_DIM)
        self.tag = tag  # the sampling the names pin (``Family.sampling_tag``: "" for one-pass generators)
        self.device, self.seed = device, seed
        self.fnet = get_feature_net(ds, root, device, echo=echo)
        self.bench = Bench(Context(self.fnet, device, seed, spreads=False), *real_sets(ds, self.fnet, self.n, seed))
        self.metrics = [m for m in REGISTRY.values() if m.probe]
        self.name = REGISTRY[BEST].name(self.n, self.fnet.tag) + tag

    def __call__(self, family: Family) -> dict[str, float]:
        """{fid name: FID, fid name + "_floor": real-vs-real FID, precision/recall/coverage/modes/cond-acc
        names: values}; FID lower is better, the others higher (non-finite values: inf)."""
        fake, req = generate(family, family.cfg.z_dim, self.n, self.seed)
        out = {}
        for m, v in self.bench.run(self.metrics, generated_set(fake, req, self.fnet, family)):
            name = m.name(self.n, self.fnet.tag) + self.tag
            out[name] = float(v.value) if math.isfinite(v.value) else math.inf
            if m.key == BEST and v.real is not None:
                out[name + "_floor"] = float(v.real)
        return out
