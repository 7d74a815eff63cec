"""The small Python API: open a trained run and draw from it.

>>> import drawlab
>>> drawer = drawlab.load("runs/mnist-dcgan")
>>> images = drawer.sample(16, seed=0)              # uint8 (16, 28, 28)
>>> sevens = drawer.sample(16, seed=0, labels=7)    # conditional models only
>>> three = drawer.sample(seeds=[3, 17, 42])         # one image per seed, as `drawlab sample --seeds`
>>> early = drawer.at_snapshot(500)                  # the generator as it was at step 500
>>> fast = drawer.sample(16, seed=0, sample_steps=5)  # flow, ddpm: fewer sampling steps
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import TrainConfig
from .device import enable_fast_math, pick_device
from .errors import ConfigError
from .images import to_hwc_array
from .latent import balanced_labels, seed_label, seed_latents, seeded_noise
from .models import Family, FamilyContext, build_family
from .run import RunDir


class Drawer:
    """A trained generator, ready to sample. Same seed -> the same latent vectors on any device, and the
    same images on the same device (GPUs differ from the CPU in the last bits)."""

    def __init__(
        self, family: Family, cfg: TrainConfig, facts: dict, step: int, device: torch.device, run: RunDir | None = None
    ):
        self.family, self.config, self.facts, self.step, self.device = family, cfg, facts, step, device
        self.run = run
        self.shape: tuple[int, int, int] = tuple(facts["shape"])
        self.class_names: list[str] = list(facts.get("class_names", []))

    @property
    def has_discriminator(self) -> bool:
        """True when D can be read: an adversarial run (an exported folder holds only the generator)."""
        from .models.adversarial import AdversarialFamily

        exported = self.run is not None and self.run.is_export
        return isinstance(self.family, AdversarialFamily) and "D" in self.family.nets and not exported

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
            raise ConfigError(
                f"this run's model ({self.family.name}) is not conditional: "
                "it cannot draw a chosen class (train cgan, mlp-mse or conv-mse on labelled data)"
            )
        y = torch.as_tensor(labels, dtype=torch.long).flatten()
        if y.numel() == 1:
            y = y.expand(n)
        if y.numel() != n:
            raise ConfigError(f"got {y.numel()} labels for {n} samples")
        bad = y[(y < 0) | (y >= self.num_classes)]
        if bad.numel():
            raise ConfigError(
                f"label {int(bad[0])} is out of range: this model knows classes 0..{self.num_classes - 1}"
            )
        return y.clone()

    @property
    def z_dim(self) -> int:
        return self.config.model.z_dim

    def seed_labels(self, seeds: Sequence[int], labels=None) -> torch.Tensor:
        """Labels (len(seeds),) for one image per seed: the chosen ones, else ``seed % classes``."""
        if labels is not None or not self.conditional:
            return self._labels(len(seeds), labels)
        return torch.tensor([seed_label(s, self.num_classes) for s in seeds], dtype=torch.long)

    def draw(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 images (N, C, H, W) on the CPU from latents z (N, z_dim) and labels (N,), each drawn
        on its own (a batch of one), so a latent gives the same pixels whatever it is drawn beside:
        every exploring tool (seeds, interpolations, the explorer) draws through here."""
        z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, self.z_dim)
        if labels is None or not self.conditional:  # an unconditional G ignores labels
            y = balanced_labels(len(z), self.num_classes)
        else:
            y = self._labels(len(z), labels)
        if not len(z):
            return torch.zeros(0, *self.shape, dtype=torch.uint8)
        return torch.cat([self.family.draw(z[i : i + 1], y[i : i + 1], 1) for i in range(len(z))])

    def sample_tensor(
        self,
        n: int | None = None,
        seed: int = 0,
        labels=None,
        batch_size: int | None = None,
        seeds: Sequence[int] | None = None,
        sample_steps: int | None = None,
        guidance: float | None = None,
        **sampling: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(images uint8 (n, C, H, W) on the CPU, labels int64 (n,)). With ``seeds``: one image per seed
        (``latent.seed_latent``; class ``seed % classes`` unless ``labels`` says), else ``n`` images from
        ``seed`` in batches. The denoisers draw with ``sample_steps``, ``guidance`` and the other keywords of
        ``config.SAMPLING`` (``guidance_low``, ...) when given (for this call only), else the drawer's."""
        kept = self.family.cfg
        self.family.set_sampling(sample_steps=sample_steps, guidance=guidance, **sampling)
        try:
            return self._sample_tensor(n, seed, labels, batch_size, seeds)
        finally:
            self.family.cfg = kept

    def _sample_tensor(
        self, n: int | None, seed: int, labels, batch_size: int | None, seeds: Sequence[int] | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if seeds is not None:
            seeds = [int(s) for s in seeds]
            if not seeds:
                raise ConfigError("--seeds is empty: give one or more seeds, e.g. --seeds 3,17,42")
            y = self.seed_labels(seeds, labels)
            return self.draw(seed_latents(seeds, self.z_dim), y), y
        if n is None or n < 1:
            raise ConfigError("--n must be at least 1")
        y = self._labels(n, labels)
        return self.family.draw(seeded_noise(n, self.z_dim, seed), y, batch_size), y

    def sample(
        self,
        n: int | None = None,
        seed: int = 0,
        labels=None,
        batch_size: int | None = None,
        seeds: Sequence[int] | None = None,
        sample_steps: int | None = None,
        guidance: float | None = None,
        **sampling: Any,
    ) -> np.ndarray:
        """uint8 array (n, H, W) for one channel or (n, H, W, C) for colour (see ``sample_tensor``)."""
        return to_hwc_array(
            self.sample_tensor(n, seed, labels, batch_size, seeds, sample_steps, guidance, **sampling)[0]
        )

    # -- snapshots through training ----------------------------------------------------------------
    def snapshot_steps(self) -> list[int]:
        """The training steps whose generator the run kept (``RUN/snapshots``)."""
        return list(self.run.list_snapshots()) if self.run else []

    def at_snapshot(self, step: int) -> Drawer:
        """A new Drawer with the generator as it was at training step ``step`` (a kept snapshot)."""
        if self.run is None:
            raise ConfigError("this drawer was not opened from a run directory: it has no snapshots")
        family = build_family(
            self.family.cfg, self.shape, int(self.facts["num_classes"]), FamilyContext(steps_done=int(step))
        )
        self.run.load_snapshot(family, int(step))
        for name, net in self.family.nets.items():  # D (and the rest) stay the trained ones: only G changes
            if name not in ("G", "G_ema"):
                family.nets[name] = net
        family.to(self.device, channels_last=True)
        return Drawer(family, self.config, self.facts, int(step), self.device, self.run)


def load(
    run_dir: str | Path,
    checkpoint: str | int | None = None,
    device: str = "cpu",
    sample_steps: int | None = None,
    guidance: float | None = None,
    sampler: str | None = None,
    sample_shift: float | None = None,
    guidance_low: float | None = None,
    guidance_high: float | None = None,
) -> Drawer:
    """Open ``run_dir`` at its newest checkpoint (or ``checkpoint``: a step or file name). The denoisers (flow,
    ddpm) sample with the run's steps, guidance (and the noise levels it applies at), sampler and grid shift
    unless given here (``Family.set_sampling``)."""
    dev = pick_device(device)
    enable_fast_math(dev)
    run = RunDir(run_dir)
    family, cfg, facts, ck = run.open_family(checkpoint, dev)
    family.set_sampling(
        sample_steps=sample_steps,
        guidance=guidance,
        sampler=sampler,
        sample_shift=sample_shift,
        guidance_low=guidance_low,
        guidance_high=guidance_high,
    )
    return Drawer(family, cfg, facts, ck.step, dev, run)
