"""Per-scale grids for multi-scale generators (MSG-GAN): ``samples/scales-step-N.png`` beside each sample
grid, one row per scale (coarse to fine, enlarged to full size) for the first ``N`` fixed latents."""

from __future__ import annotations

import torch

from ...images import grid_array, save_png, to_uint8
from ..events import Observer
from ..view import RunView
from . import register

N = 10  # latents in the grid


@register
class Scales(Observer):
    """Draws ``family.scales_grid`` of the first ``N`` fixed latents at every grid."""

    name = "scales"
    order = 50

    @classmethod
    def build(cls, view: RunView) -> Scales | None:
        return cls() if view.family.multiscale else None

    @torch.no_grad()
    def on_grid(self, t: RunView, images: torch.Tensor, path) -> None:
        z, y = t.fixed_z[:N], t.fixed_y[:N]
        with t.family.autocast():
            pyramid = t.family.scales_grid(z, y)  # type: ignore[attr-defined]
        size = pyramid[-1].shape[-1]
        rows = [torch.nn.functional.interpolate(p, size=size, mode="nearest") for p in pyramid]
        save_png(grid_array(to_uint8(torch.cat(rows)).cpu(), nrow=len(z)), path.with_name("scales-" + path.name))
