"""The relativistic average hinge loss (Jolicoeur-Martineau 2019; MSG-GAN's default)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import HINGE_LOGIT, AdversarialLoss, register_loss, signs


@register_loss
class RelativisticHinge(AdversarialLoss):
    """Each image's score is compared with the mean score of the other kind; D wants reals above fakes
    by a margin of 1, G the reverse (so G's loss reads D's logits on real images too)."""

    name = "ra-hinge"
    summary = "relativistic average hinge (Jolicoeur-Martineau; MSG-GAN's default): reals vs the mean fake"
    readout = HINGE_LOGIT
    order = 4
    supports_smoothing = False
    relativistic = True

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        r, f = real_logits.float(), fake_logits.float()
        return (
            F.relu(1 - signs(real_targets) * (r - f.mean())).mean()
            + F.relu(1 - signs(fake_targets) * (f - r.mean())).mean()
        )

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        if real_logits is None:
            raise ValueError("ra-hinge's G loss needs D's logits on real images")
        r, f = real_logits.float(), fake_logits.float()
        return F.relu(1 + (r - f.mean())).mean() + F.relu(1 - (f - r.mean())).mean()
