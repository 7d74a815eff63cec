"""R1 (Mescheder et al. 2018), on with ``--r1 GAMMA``, lazily every ``--r1-every`` steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .base import Critic, Images, Penalty, input_grad_norm2, register_penalty

if TYPE_CHECKING:
    from ..config import ModelConfig


@register_penalty
@dataclass
class R1(Penalty):
    """gamma / 2 * ||grad D(x)||^2 on real images."""

    gamma: float = 10.0
    every: int = 16
    order = 1
    turned_on_by = {"r1": 1.0}

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> R1 | None:
        """On when ``cfg.r1`` (gamma) is above 0."""
        return cls(cfg.r1, cfg.r1_every) if cfg.r1 > 0 else None

    def __call__(
        self, d: Critic, real: Images, fake: Images, y: torch.Tensor | None, gen: torch.Generator
    ) -> torch.Tensor:
        return 0.5 * self.gamma * self.every * input_grad_norm2(d, real, y).mean()
