"""Say in words what the discriminator's numbers mean right now, and warn when training goes wrong."""
from __future__ import annotations

import math

import torch


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


class Watchdog:
    """Reads the training log and the fixed-noise samples and says, once each, when something is
    wrong: the discriminator has won, the losses froze or became NaN, or the samples collapsed.

    ``data_diversity`` is ``diversity`` of as many real images (same label mix) as the grid holds.
    """

    def __init__(self, data_diversity: float, patience: int = 3, collapse_ratio: float = 0.5):
        self.data_diversity, self.patience, self.collapse_ratio = data_diversity, patience, collapse_ratio
        self.best_ratio = 0.0  # early samples are alike before G has learnt anything: collapse is a fall from here
        self.said: set[str] = set()
        self.records: list[dict] = []

    def _once(self, kind: str, message: str) -> list[str]:
        if kind in self.said:
            return []
        self.said.add(kind)
        return [f"drawlab: warning: {message}"]

    def on_record(self, rec: dict) -> list[str]:
        """Warnings for one metrics.jsonl record (losses, d_real, d_fake)."""
        self.records.append(rec)
        recent = self.records[-self.patience:]
        out: list[str] = []
        losses = [v for k, v in rec.items() if k.startswith("loss")]
        if any(not math.isfinite(v) for v in losses):
            out += self._once("nan", f"a loss is not finite at step {rec['step']}: training diverged "
                                     "(lower --lr, or resume from an earlier checkpoint)")
        if len(recent) == self.patience and all(r.get("d_real", 0) > 0.95 and r.get("d_fake", 1) < 0.05
                                                 for r in recent):
            out += self._once("d-wins", f"D has won for {self.patience} log intervals (D(x) > 0.95, D(G(z)) < 0.05): "
                                        "G gets almost no gradient; try --label-smoothing 0.1, a smaller --d-width "
                                        "or a lower --lr-d")
        window = self.records[-2 * self.patience:]
        if len(window) == 2 * self.patience and "loss_g" in rec:
            spread = max(r["loss_g"] for r in window) - min(r["loss_g"] for r in window)
            if spread < 1e-4 * max(1.0, abs(rec["loss_g"])):
                out += self._once("frozen", f"the generator's loss has not moved for {len(window)} log intervals: "
                                            "training is stuck (check the learning rates and the data)")
        return out

    def on_samples(self, images: torch.Tensor, labels: torch.Tensor | None, step: int) -> list[str]:
        """Warnings for the fixed-noise samples (uint8 (N, C, H, W)) at ``step``: collapse is diversity
        below ``collapse_ratio`` of the real images' and below half the best seen so far in this run."""
        if self.data_diversity <= 0:
            return []
        ratio = diversity(images, labels) / self.data_diversity
        self.best_ratio = max(self.best_ratio, ratio)
        if ratio < self.collapse_ratio and ratio < 0.5 * self.best_ratio:
            which = "of the same class " if labels is not None else ""
            return self._once("collapse", f"samples {which}from different noise look alike at step {step} "
                                          f"(diversity {ratio:.0%} of the real images'): mode collapse; "
                                          "see the sample grids, and try a lower --lr or more data")
        return []
