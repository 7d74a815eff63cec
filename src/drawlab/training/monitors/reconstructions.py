"""Reconstruction grids for autoencoders: ``samples/recon-step-N.png`` beside each sample grid, fixed real
images above and their reconstructions below."""

from __future__ import annotations

import torch

from ...data.batches import to_unit_range
from ...images import grid_array, save_png, to_uint8
from ...modes import evaluating
from ..events import Observer
from ..view import RunView
from . import register

N = 10  # images in the grid


@register
class Reconstructions(Observer):
    """Draws ``family.reconstruct`` of ``N`` fixed real images (picked by the run's seed) at every grid."""

    name = "reconstructions"
    order = 40

    @classmethod
    def build(cls, view: RunView) -> Reconstructions | None:
        return cls() if view.family.reconstructs else None

    def on_start(self, t: RunView) -> None:
        idx = torch.randperm(len(t.data), generator=torch.Generator().manual_seed(t.cfg.seed))[:N]
        items = [t.data.load_item(int(i)) for i in idx]
        self.x = to_unit_range(torch.stack([img for img, _ in items])).to(t.device)
        self.y = torch.tensor([label for _, label in items], dtype=torch.long, device=t.device)

    @torch.no_grad()
    def on_grid(self, t: RunView, images: torch.Tensor, path) -> None:
        fam = t.family
        nets = [n for k, n in fam.nets.items() if k != "G_ema"]
        with evaluating(*nets), fam.autocast():
            out = fam.reconstruct(self.x, self.y).float()  # type: ignore[attr-defined]
        both = torch.cat([to_uint8(self.x).cpu(), to_uint8(out).cpu()])
        save_png(grid_array(both, nrow=len(self.x)), path.with_name("recon-" + path.name))
