"""The non-saturating GAN loss (Goodfellow et al. 2014): BCE on D's logits, read as a probability."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import PROBABILITY, AdversarialLoss, register_loss


@register_loss
class NonSaturating(AdversarialLoss):
    """D minimises -t log D(x) - (1 - t) log(1 - D(x)); G minimises -log D(G(z)) (BCE on logits, no sigmoid)."""

    name = "nonsaturating"
    summary = "BCE on logits (Goodfellow et al.); D's output read as a probability (the default)"
    readout = PROBABILITY
    order = 0

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(
            real_logits.float(), real_targets.float()
        ) + F.binary_cross_entropy_with_logits(fake_logits.float(), fake_targets.float())

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return F.softplus(-fake_logits.float()).mean()
