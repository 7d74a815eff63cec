"""The Wasserstein loss of WGAN-GP (Gulrajani et al. 2017) and its readout: the critic's unbounded
score, of which only the gap between real and generated images means something."""

from __future__ import annotations

import math

import torch

from .base import AdversarialLoss, Readout, Scale, register_loss, signs


class CriticReadout(Readout):
    """The critic's score: its level drifts freely; the gap real - generated estimates the Wasserstein distance."""

    def reading(self, real: float, fake: float) -> str:
        gap = real - fake
        if gap < 0:
            return "the critic scores fakes above reals: it is behind G or oscillating (try more --d-steps)"
        if gap < 0.1:
            return (
                "the critic sees almost no gap between real and generated images "
                "(G is close, or the critic is undertrained)"
            )
        return (
            f"the critic's gap of {gap:.2f} estimates the Wasserstein distance between real and generated "
            "images: it should shrink as G improves (the level of either score means nothing)"
        )


CRITIC = CriticReadout(
    name="critic",
    scale=Scale.LOGIT,
    lo=-20.0,
    hi=20.0,
    keys=("critic_real", "critic_fake"),
    names=("critic on real", "critic on fakes"),
    won=(math.inf, -math.inf),
    meaning="the critic's unbounded score (WGAN): only the gap between real and "
    "generated means something, an estimate of the Wasserstein distance",
    axis="the critic's score",
)


@register_loss
class Wasserstein(AdversarialLoss):
    """The critic minimises D(G(z)) - D(x) (sign by target), G minimises -D(G(z)); defined together with
    the gradient penalty (``--gp-weight``), n-critic via ``--d-steps``."""

    name = "wgan-gp"
    summary = "Wasserstein with gradient penalty (Gulrajani et al.): a critic, n-critic via --d-steps"
    readout = CRITIC
    order = 3
    supports_smoothing = False
    needs_penalty = "gp_weight"

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        return -(signs(real_targets) * real_logits.float()).mean() - (signs(fake_targets) * fake_logits.float()).mean()

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_logits.float().mean()
