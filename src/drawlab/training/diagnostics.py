"""Say in words what the discriminator's numbers mean right now."""
from __future__ import annotations


def explain(d_real: float | None, d_fake: float | None) -> str:
    """A short reading of D(x) (mean belief that real images are real) and D(G(z))
    (mean belief that generated images are real), both in [0, 1]."""
    if d_real is None or d_fake is None:
        return ""
    gap = d_real - d_fake
    if d_real > 0.95 and d_fake < 0.05:
        return "D wins outright: G gets almost no gradient (try a smaller D, label smoothing or instance noise)"
    if gap > 0.5:
        return "D separates real from fake easily; G is behind"
    if gap < -0.1:
        return "D rates fakes above reals: it is being fooled or oscillating"
    if abs(gap) < 0.1 and 0.35 < d_real < 0.65:
        return "balanced: D can barely tell real from fake"
    return "healthy contest: D leads a little, as usual"
