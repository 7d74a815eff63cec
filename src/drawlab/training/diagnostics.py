"""Say in words what the discriminator's numbers mean right now; measure how diverse samples are."""

from __future__ import annotations

import torch

from ..losses import PROBABILITY, Readout, Scale


def explain(d_real: float | None, d_fake: float | None, readout: Readout = PROBABILITY) -> str:
    """A short reading of D's mean output on real (``d_real``) and generated (``d_fake``) images, on the
    loss's scale: probabilities in [0, 1] for the non-saturating loss, raw scores for hinge."""
    if d_real is None or d_fake is None:
        return ""
    if readout.wins(d_real, d_fake):
        return "D wins outright: G gets almost no useful signal (try a smaller D, instance noise or label flips)"
    if readout.scale is Scale.LOGIT:
        gap = d_real - d_fake
        if gap > 2:
            return "D separates real from fake easily (scores far apart); G is behind"
        if gap < -0.2:
            return "D scores fakes above reals: it is being fooled or oscillating"
        if abs(gap) < 0.2:
            return "balanced: D's scores on real and generated images are close"
        return "healthy contest: D scores real images a little higher, as usual"
    gap = d_real - d_fake
    if gap > 0.5:
        return "D separates real from fake easily; G is behind"
    if gap < -0.1:
        return "D rates fakes above reals: it is being fooled or oscillating"
    if abs(gap) < 0.1 and 0.35 < d_real < 0.65:
        return "balanced: D can barely tell real from fake"
    return "healthy contest: D leads a little, as usual"


def diversity(images: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """Mean pairwise RMS pixel distance between images (uint8 (N, C, H, W)), in [0, 1]; within each
    label group when labels are given (so a conditional model collapsed within classes scores low)."""
    x = images.float().flatten(1) / 255.0
    groups = [x] if labels is None else [x[labels == k] for k in labels.unique()]
    dists = []
    for g in groups:
        if len(g) >= 2:
            d = torch.cdist(g, g) / g.shape[1] ** 0.5
            n = len(g)
            dists.append(d.sum() / (n * (n - 1)))
    return float(torch.stack(dists).mean()) if dists else 0.0
