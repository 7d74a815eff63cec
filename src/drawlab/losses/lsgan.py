"""The least-squares GAN loss (Mao et al. 2017, the 0-1 coding) and its readout: D's score, pushed
towards 1 on real and 0 on generated images (both near 0.5 at the equilibrium)."""

from __future__ import annotations

import torch

from .base import AdversarialLoss, Readout, Scale, register_loss


class LeastSquaresReadout(Readout):
    """D's raw output under LSGAN: a score regressed towards 1 (real) and 0 (generated)."""

    def reading(self, real: float, fake: float) -> str:
        gap = real - fake
        if gap > 0.5:
            return "D separates real from fake easily (scores near their targets 1 and 0); G is behind"
        if gap < -0.1:
            return "D scores fakes above reals: it is being fooled or oscillating"
        if abs(gap) < 0.1 and 0.35 < real < 0.65:
            return "balanced: D's scores sit near 0.5 on both kinds, it can barely tell them apart"
        return "healthy contest: D scores real images a little closer to 1, as usual"


LS_SCORE = LeastSquaresReadout(
    name="least-squares",
    scale=Scale.LOGIT,
    lo=-1.0,
    hi=2.0,
    keys=("score_real", "score_fake"),
    names=("D's score on real", "D's score on fakes"),
    won=(0.9, 0.1),
    meaning="D's least-squares score, pushed towards 1 on real and 0 on generated images",
    axis="D's least-squares score",
    lines=(0.0, 1.0),
    won_words="at the least-squares targets (1 for real, 0 for generated)",
)


@register_loss
class LeastSquares(AdversarialLoss):
    """D minimises (D(x) - t)^2 / 2 towards its target t (1 real, 0 generated; smoothing and flips
    change t); G minimises (D(G(z)) - 1)^2 / 2."""

    name = "lsgan"
    summary = "least squares (Mao et al.): D's score regressed towards 1 on real and 0 on generated images"
    readout = LS_SCORE
    order = 2

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        return (
            0.5 * ((real_logits.float() - real_targets.float()) ** 2).mean()
            + 0.5 * ((fake_logits.float() - fake_targets.float()) ** 2).mean()
        )

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * ((fake_logits.float() - 1) ** 2).mean()
