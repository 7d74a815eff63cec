"""The original minimax GAN loss (Goodfellow et al. 2014), kept for teaching: G's term saturates."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import PROBABILITY, register_loss
from .nonsaturating import NonSaturating


@register_loss
class Minimax(NonSaturating):
    """D's loss is the non-saturating loss's (BCE on logits, inherited); G minimises log(1 - D(G(z))) = -softplus(logit).

    Its gradient in D's logit is -sigmoid(logit): once D rates the fakes near 0, G learns almost nothing,
    the reason Goodfellow et al. proposed the non-saturating G loss in the same paper."""

    name = "minimax"
    summary = "the original minimax loss (Goodfellow et al.): G's term saturates when D wins (for teaching)"
    readout = PROBABILITY
    order = 90

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return -F.softplus(fake_logits.float()).mean()
