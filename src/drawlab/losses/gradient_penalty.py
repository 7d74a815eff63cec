"""The WGAN-GP gradient penalty (Gulrajani et al. 2017), on with ``--gp-weight`` (10 by default under wgan-gp)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .. import rng
from .base import Critic, Images, Penalty, input_grad_norm2, mix, register_penalty

if TYPE_CHECKING:
    from ..config import ModelConfig


@register_penalty
@dataclass
class GradientPenalty(Penalty):
    """weight * (||grad D(x_hat)|| - 1)^2 at random points x_hat between real and generated images."""

    weight: float = 10.0
    every: int = 1
    order = 0
    turned_on_by = {"gp_weight": 10.0}  # or --loss wgan-gp, whose default weight is 10

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> GradientPenalty | None:
        """On when the weight in force (``ModelConfig.penalty_weight``) is above 0."""
        w = cfg.penalty_weight()
        return cls(w) if w > 0 else None

    def __call__(
        self, d: Critic, real: Images, fake: Images, y: torch.Tensor | None, gen: torch.Generator
    ) -> torch.Tensor:
        ref = real[-1] if isinstance(real, (list, tuple)) else real
        eps = rng.rand((ref.shape[0], 1, 1, 1), gen, ref.device, ref.dtype)
        x_hat = mix(real, fake, eps)
        return self.weight * self.every * (input_grad_norm2(d, x_hat, y).sqrt() - 1).pow(2).mean()
