"""Feature networks that know the data: a small CNN classifier for labelled datasets, a small
convolutional autoencoder's encoder for unlabelled folders.

Inception cannot be downloaded here and sees 28x28 digits poorly, so every metric that needs
features uses a network trained (once) on the run's own real training images::

    ROOT/features/<data fingerprint>-<kind>.safetensors   weights (no pickled code)
    ROOT/features/<data fingerprint>-<kind>.json          name, kind, dim, held-out score, training recipe

A classifier reports its held-out accuracy (a random 10% of the images it never trained on); an
autoencoder its held-out reconstruction MSE. Features are the penultimate layer (classifier) or the
bottleneck (autoencoder), ``dim`` = 128 floats.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ..data import ImageDataset, default_data_root
from ..data.batches import to_unit_range
from ..errors import DataError
from ..files import atomic_write, atomic_write_json

ARCH_VERSION = 3  # bump when the networks or the recipe change: old caches are retrained
FEATURE_DIM = 128
MAX_SIDE = 32  # larger images are area-downsampled to at most 32 px before the network
HOLDOUT_SHARE = 0.1
DEFAULT_BATCH = 256
MAX_TRAIN_IMAGES = 60_000


def feature_net_base(ds: ImageDataset) -> str:
    """The data part of a feature net's name: the dataset name, 'folder' for any folder."""
    return "folder" if ds.name.startswith("folder:") else ds.name


def default_steps(n_train: int) -> int:
    """Training steps when none are given: about 10 epochs at batch 256, at least 300, at most 2000
    (mnist-5k: 300 steps, ~35 s on two CPU cores, once: the net is cached)."""
    return int(min(2000, max(300, round(10 * n_train / DEFAULT_BATCH))))


def _prepare(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float in [-1, 1], area-downsampled so that the longer side is <= MAX_SIDE."""
    x = to_unit_range(x)
    h, w = x.shape[-2:]
    if max(h, w) > MAX_SIDE:
        s = MAX_SIDE / max(h, w)
        x = F.interpolate(x, size=(max(4, round(h * s)), max(4, round(w * s))), mode="area")
    return x


def _trunk(c: int) -> nn.Sequential:
    """Three strided convolutions (BN, ReLU) down to 4x4 x 64 = 1024 numbers, cheap on a CPU."""
    return nn.Sequential(
        nn.Conv2d(c, 16, 5, stride=2, padding=2),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
    )


class Classifier(nn.Module):
    """conv 32 -> max-pool -> conv 64 -> max-pool -> 7x7 (no BatchNorm, no averaging: sharper features
    for FID than the autoencoder's trunk) -> fc 128 (the features) -> fc classes."""

    def __init__(self, channels: int, num_classes: int, dim: int = FEATURE_DIM):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(7),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(64 * 49, dim), nn.ReLU())
        self.head = nn.Linear(dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class AutoEncoder(nn.Module):
    """The same trunk -> fc 128 (the features, linear) -> fc -> two transposed convs -> image."""

    def __init__(self, channels: int, side: tuple[int, int], dim: int = FEATURE_DIM):
        super().__init__()
        self.side = side
        self.low = (max(1, (side[0] + 3) // 4), max(1, (side[1] + 3) // 4))
        self.trunk = _trunk(channels)
        self.fc = nn.Linear(64 * 16, dim)
        self.up = nn.Linear(dim, 64 * self.low[0] * self.low[1])
        self.dec = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.ConvTranspose2d(32, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up(self.features(x)).view(-1, 64, *self.low)
        out = self.dec(h)
        if tuple(out.shape[-2:]) != tuple(self.side):
            out = F.interpolate(out, size=self.side, mode="bilinear", align_corners=False)
        return out


CPU = torch.device("cpu")


@dataclass
class FeatureNet:
    """A trained feature network and what it scored on held-out real images."""

    name: str  # e.g. 'mnist-5k-cnn', 'folder-ae'
    kind: str  # 'cnn' (classifier) or 'ae' (autoencoder)
    net: nn.Module
    dim: int
    num_classes: int  # 0 for an autoencoder
    info: dict[str, Any] = field(default_factory=dict)  # the .json sidecar
    device: torch.device = CPU

    @property
    def is_classifier(self) -> bool:
        return self.kind == "cnn"

    @property
    def accuracy(self) -> float | None:
        return self.info.get("heldout_accuracy")

    @property
    def protocol_id(self) -> str:
        """6 hex digits pinning what the features mean: the net's architecture version, its training steps and
        split, and the fingerprint of the data it learnt (the same name with other weights gets another id)."""
        keys = {k: self.info.get(k) for k in ("arch_version", "train_steps", "split_seed", "data_fingerprint")}
        return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:6]

    @property
    def tag(self) -> str:
        """The net's part of a metric name: 'mnist-5k-cnn@3fa9c1' (name @ protocol id)."""
        return f"{self.name}@{self.protocol_id}"

    def describe(self) -> str:
        if self.is_classifier:
            return f"{self.name} (held-out accuracy {100 * (self.accuracy or 0.0):.1f}%)"
        return f"{self.name} (held-out reconstruction MSE {self.info.get('heldout_mse', float('nan')):.4f})"

    @torch.no_grad()
    def _run(self, images: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor], batch: int = 1000) -> np.ndarray:
        self.net.eval()
        out = []
        for i in range(0, images.shape[0], batch):
            xb = _prepare(images[i : i + batch].to(self.device))
            out.append(fn(xb).float().cpu())
        if not out:
            return np.zeros((0, self.dim))
        return torch.cat(out).double().numpy()

    def features(self, images: torch.Tensor) -> np.ndarray:
        """uint8 (N, C, H, W) -> float64 (N, dim)."""
        return self._run(images, self.net.features)  # type: ignore[arg-type]  # Classifier / AutoEncoder

    def probs(self, images: torch.Tensor) -> np.ndarray:
        """uint8 (N, C, H, W) -> class probabilities float64 (N, classes); classifiers only."""
        if not self.is_classifier:
            raise ValueError(f"{self.name} is not a classifier")
        return self._run(images, lambda x: torch.softmax(self.net(x).float(), dim=1))


def cache_paths(root: Path, fingerprint: str, kind: str) -> tuple[Path, Path]:
    d = Path(root) / "features"
    return d / f"{fingerprint}-{kind}.safetensors", d / f"{fingerprint}-{kind}.json"


def _all_images(ds: ImageDataset, limit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Up to ``limit`` of the dataset's images (a fixed random subset when there are more)."""
    n = len(ds)
    idx = None
    if n > limit:
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit].sort().values
    return real_images(ds, idx), (None if ds.labels is None else (ds.labels if idx is None else ds.labels[idx]))


def real_images(ds: ImageDataset, idx: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 (N, C, H, W) of the items ``idx`` (all when None), in memory or streamed."""
    if ds.images is not None:
        return ds.images if idx is None else ds.images[idx]
    ids = range(len(ds)) if idx is None else idx.tolist()
    return torch.stack([ds.load_item(int(i))[0] for i in ids])


def get_feature_net(
    ds: ImageDataset,
    root: str | Path | None = None,
    device: torch.device | str = "cpu",
    steps: int | None = None,
    echo: Callable[[str], None] | None = None,
    retrain: bool = False,
) -> FeatureNet:
    """The feature net for ``ds``: loaded from the cache under ``root`` (default the data root), or
    trained on ``ds`` now and cached. Labelled data (>= 2 classes) gets a classifier, other data an
    autoencoder. ``steps`` overrides the training length (and is then part of the cache key)."""
    root = Path(root).expanduser() if root is not None else default_data_root()
    device = torch.device(device)
    labelled = ds.labels is not None and ds.num_classes >= 2
    kind = "cnn" if labelled else "ae"
    key = kind if steps is None else f"{kind}-s{steps}"
    name = f"{feature_net_base(ds)}-{kind}"
    w_path, j_path = cache_paths(root, ds.fingerprint, key)
    with torch.random.fork_rng(devices=[]):  # the same net whatever random state the caller left
        torch.manual_seed(0)
        net = _build(kind, ds)
    if not retrain and w_path.is_file() and j_path.is_file():
        try:
            info = json.loads(j_path.read_text())
            if info.get("arch_version") == ARCH_VERSION:
                net.load_state_dict(load_file(str(w_path)), strict=True)
                return FeatureNet(
                    name, kind, net.to(device).eval(), FEATURE_DIM, ds.num_classes if labelled else 0, info, device
                )
        except Exception:
            pass
    if len(ds) < 20:
        raise DataError(f"{ds.name} has only {len(ds)} images: too few to train a feature network for metrics")
    say = echo or (lambda s: None)
    say(f"training the feature network {name} on {ds.name} (once; cached under {w_path.parent})")
    info = _train(net, kind, ds, device, steps)
    info.update(
        {
            "name": name,
            "kind": kind,
            "dim": FEATURE_DIM,
            "arch_version": ARCH_VERSION,
            "data_name": ds.name,
            "data_fingerprint": ds.fingerprint,
            "torch_version": torch.__version__,
            "weights": w_path.name,
        }
    )
    w_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    atomic_write(w_path, lambda tmp: save_file(tensors, str(tmp)), "cache")
    atomic_write_json(j_path, info, "cache")
    if labelled:
        say(
            f"feature network {name}: held-out accuracy {100 * info['heldout_accuracy']:.1f}% "
            f"({info['train_seconds']:.0f} s)"
        )
    else:
        say(
            f"feature network {name}: held-out reconstruction MSE {info['heldout_mse']:.4f} "
            f"({info['train_seconds']:.0f} s)"
        )
    return FeatureNet(name, kind, net.eval(), FEATURE_DIM, ds.num_classes if labelled else 0, info, device)


def _build(kind: str, ds: ImageDataset) -> nn.Module:
    c, h, w = ds.shape
    if kind == "cnn":
        return Classifier(c, ds.num_classes)
    s = MAX_SIDE / max(h, w)
    side = (h, w) if s >= 1 else (max(4, round(h * s)), max(4, round(w * s)))
    return AutoEncoder(c, side)


def _train(
    net: nn.Module, kind: str, ds: ImageDataset, device: torch.device, steps: int | None, seed: int = 0
) -> dict[str, Any]:
    """Train ``net`` on 90% of (up to 60,000 of) the images; score it on the other 10%."""
    t0 = time.perf_counter()
    images, labels = _all_images(ds, MAX_TRAIN_IMAGES, seed)
    n = images.shape[0]
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    n_hold = max(1, int(round(HOLDOUT_SHARE * n)))
    hold, train = perm[:n_hold], perm[n_hold:]
    steps = steps if steps is not None else default_steps(len(train))
    batch = min(DEFAULT_BATCH, len(train))
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    warm = 0.2 if steps != 5 else 0.3  # OneCycleLR divides by zero where warm * steps == 1: only 5 steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(1, steps), pct_start=warm)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        order = torch.randperm(len(train), generator=g)
        pos = 0
        for _ in range(steps):
            if pos + batch > len(order):
                order, pos = torch.randperm(len(train), generator=g), 0
            ids = train[order[pos : pos + batch]]
            pos += batch
            x = _prepare(images[ids].to(device))
            if kind == "cnn":
                assert labels is not None  # a classifier is built for labelled data only
                loss = F.cross_entropy(net(x), labels[ids].to(device))
            else:
                loss = F.mse_loss(net(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    info: dict[str, Any] = {
        "train_steps": steps,
        "batch_size": batch,
        "train_images": len(train),
        "heldout_images": int(n_hold),
        "split_seed": seed,
    }
    with torch.no_grad():
        if kind == "cnn":
            correct = 0
            assert labels is not None
            for i in range(0, n_hold, 1000):
                ids = hold[i : i + 1000]
                pred = net(_prepare(images[ids].to(device))).argmax(1).cpu()
                correct += int((pred == labels[ids]).sum())
            info["heldout_accuracy"] = correct / n_hold
        else:
            total = 0.0
            for i in range(0, n_hold, 1000):
                x = _prepare(images[hold[i : i + 1000]].to(device))
                total += float(F.mse_loss(net(x), x, reduction="sum"))
            info["heldout_mse"] = total / (n_hold * x[0].numel())
    info["train_seconds"] = round(time.perf_counter() - t0, 2)
    return info
