"""Measure how diverse samples are (what D's numbers mean in words: ``losses.Readout.explain``)."""

from __future__ import annotations

import torch


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
