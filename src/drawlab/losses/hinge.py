"""The hinge loss (Lim & Ye 2017; Miyato et al. 2018): D's raw score, pushed beyond the margins +1 / -1."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import HINGE_LOGIT, AdversarialLoss, register_loss, signs


@register_loss
class Hinge(AdversarialLoss):
    """D minimises relu(1 - s D(x)) with s = +1 for a real target, -1 for a generated one; G minimises
    -D(G(z)). Targets are read as real (> 0.5) or not, so there is nothing to smooth."""

    name = "hinge"
    summary = "hinge (Lim & Ye; SN-GAN): D's raw score, margins +1 on real and -1 on generated images"
    readout = HINGE_LOGIT
    order = 1
    supports_smoothing = False

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        def term(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return F.relu(1 - signs(targets) * logits.float()).mean()

        return term(real_logits, real_targets) + term(fake_logits, fake_targets)

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_logits.float().mean()
