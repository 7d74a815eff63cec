"""The base of the families trained by pixel MSE (registers nothing)."""

from __future__ import annotations

import torch

from .. import losses, rng
from ..config import ModelConfig
from ..errors import ConfigError
from .base import Family
from .context import FamilyContext


class ReconstructionFamily(Family):
    """A generator trained with pixel MSE against real images of the same label: it learns the
    conditional mean, the blurry 'average digit', whatever the noise says."""

    uses_labels = True
    pairs_labels = True

    def __init__(
        self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int, context: FamilyContext | None = None
    ):
        super().__init__(cfg, shape, num_classes, context)
        if cfg.pair_labels == "random" and not self.conditional:
            raise ConfigError("--pair-labels random needs labelled data: there are no labels to pair")

    def pairing(self, y: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """The labels G is given for the real batch: its own (``pair_labels`` "true") or random ones, as the
        article's first experiment did by mistake (the cause of its label-blind digits)."""
        if self.cfg.pair_labels == "random" and self.conditional:
            return rng.randint(0, self.num_classes, y.shape, gen, y.device)
        return y

    def train_step(self, x, y, gen):
        z = self.noise(x.shape[0], gen, x.device)
        y = self.pairing(y, gen)
        with self.autocast():
            fake = self.nets["G"](z, self.labels_for(y))
        loss = losses.pixel_mse(fake, x)
        self.optimise(loss)
        self.context.steps_done += 1
        self.update_ema(x.shape[0])
        return {"loss_g": loss.detach()}
