"""The small Python API: open a trained run and draw from it.

    >>> import drawlab
    >>> drawer = drawlab.load("runs/mnist-dcgan")
    >>> images = drawer.sample(16, seed=0)              # uint8 (16, 28, 28)
    >>> sevens = drawer.sample(16, seed=0, labels=7)    # conditional models only
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .config import TrainConfig
from .device import enable_fast_math, pick_device
from .errors import ConfigError
from .images import to_hwc_array
from .latent import balanced_labels, seeded_noise
from .models import Family
from .run import RunDir


class Drawer:
    """A trained generator, ready to sample. Same seed -> the same latent vectors on any device, and the
    same images on the same device (GPUs differ from the CPU in the last bits)."""

    def __init__(self, family: Family, cfg: TrainConfig, facts: dict, step: int, device: torch.device):
        self.family, self.config, self.facts, self.step, self.device = family, cfg, facts, step, device
        self.shape: tuple[int, int, int] = tuple(facts["shape"])
        self.class_names: list[str] = list(facts.get("class_names", []))

    @property
    def conditional(self) -> bool:
        return self.family.conditional

    @property
    def num_classes(self) -> int:
        return self.family.num_classes

    def _labels(self, n: int, labels: int | Sequence[int] | torch.Tensor | None) -> torch.Tensor:
        if labels is None:
            return balanced_labels(n, self.num_classes)
        if not self.conditional:
            raise ConfigError(f"this run's model ({self.family.name}) is not conditional: "
                              "it cannot draw a chosen class (train cgan, mlp-mse or conv-mse on labelled data)")
        y = torch.as_tensor(labels, dtype=torch.long).flatten()
        if y.numel() == 1:
            y = y.expand(n)
        if y.numel() != n:
            raise ConfigError(f"got {y.numel()} labels for {n} samples")
        bad = y[(y < 0) | (y >= self.num_classes)]
        if bad.numel():
            raise ConfigError(f"label {int(bad[0])} is out of range: this model knows classes 0..{self.num_classes - 1}")
        return y.clone()

    def sample_tensor(self, n: int, seed: int = 0, labels=None, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(images uint8 (n, C, H, W) on the CPU, labels int64 (n,))."""
        if n < 1:
            raise ConfigError("--n must be at least 1")
        y = self._labels(n, labels)
        return self.family.draw(seeded_noise(n, self.config.model.z_dim, seed), y, batch_size), y

    def sample(self, n: int, seed: int = 0, labels=None, batch_size: int = 500) -> np.ndarray:
        """uint8 array (n, H, W) for one channel or (n, H, W, C) for colour."""
        return to_hwc_array(self.sample_tensor(n, seed, labels, batch_size)[0])


def load(run_dir: str | Path, checkpoint: str | int | None = None, device: str = "cpu") -> Drawer:
    """Open ``run_dir`` at its newest checkpoint (or ``checkpoint``: a step or file name)."""
    dev = pick_device(device)
    enable_fast_math(dev)
    family, cfg, facts, ck = RunDir(run_dir).open_family(checkpoint, dev)
    return Drawer(family, cfg, facts, ck.step, dev)
