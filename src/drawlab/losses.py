"""GAN and reconstruction losses. Discriminators output raw logits (never a sigmoid)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_nonsaturating(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                         real_target: float = 1.0) -> torch.Tensor:
    """Discriminator BCE on logits: -log D(x) - log(1 - D(G(z))).

    ``real_target`` < 1 gives one-sided label smoothing (e.g. 0.9).
    """
    real = F.binary_cross_entropy_with_logits(real_logits.float(), torch.full_like(real_logits.float(), real_target))
    fake = F.binary_cross_entropy_with_logits(fake_logits.float(), torch.zeros_like(fake_logits.float()))
    return real + fake


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator's non-saturating loss: -log D(G(z)) (softplus(-logit))."""
    return F.softplus(-fake_logits.float()).mean()


def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for D: relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for G: -D(G(z))."""
    return -fake_logits.float().mean()


def pixel_mse(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel; images in [-1, 1]."""
    return F.mse_loss(fake.float(), real.float())


def prob_mean(logits: torch.Tensor) -> float:
    """Mean of sigmoid(logits): the discriminator's average belief that inputs are real, in [0, 1]."""
    return torch.sigmoid(logits.detach().float()).mean().item()
