"""Extra sample grids for families that have more to show: reconstructions of autoencoders
(``samples/recon-step-N.png``: fixed real images above, their reconstructions below) and every scale of a
multi-scale generator (``samples/scales-step-N.png``)."""

from __future__ import annotations

import torch

from ..images import grid_array, save_png, to_uint8
from .events import Observer

N = 10


class Reconstructions(Observer):
    """Draws ``family.reconstruct`` of ``N`` fixed real images (picked by the run's seed) at every grid."""

    def on_start(self, t) -> None:
        idx = torch.randperm(len(t.data), generator=torch.Generator().manual_seed(t.cfg.seed))[:N]
        items = [t.data.load_item(int(i)) for i in idx]
        self.x = torch.stack([img for img, _ in items]).float().div(127.5).sub(1).to(t.device)
        self.y = torch.tensor([label for _, label in items], dtype=torch.long, device=t.device)

    @torch.no_grad()
    def on_grid(self, t, images, path) -> None:
        nets = [n for k, n in t.family.nets.items() if k != "G_ema"]
        was = [n.training for n in nets]
        for n in nets:
            n.eval()
        try:
            with t.family.autocast():
                out = t.family.reconstruct(self.x, self.y).float()
        finally:
            for n, w in zip(nets, was):
                n.train(w)
        both = torch.cat([to_uint8(self.x).cpu(), to_uint8(out).cpu()])
        save_png(grid_array(both, nrow=len(self.x)), path.with_name("recon-" + path.name))


class Scales(Observer):
    """For multi-scale generators (MSG-GAN): ``samples/scales-step-N.png`` beside each sample grid, one row
    per scale (coarse to fine, enlarged to full size) for the first ``N`` fixed latents."""

    @torch.no_grad()
    def on_grid(self, t, images, path) -> None:
        z, y = t.fixed_z[:N], t.fixed_y[:N]
        with t.family.autocast():
            pyramid = t.family.scales_grid(z, y)
        size = pyramid[-1].shape[-1]
        rows = [torch.nn.functional.interpolate(p, size=size, mode="nearest") for p in pyramid]
        save_png(grid_array(to_uint8(torch.cat(rows)).cpu(), nrow=len(z)), path.with_name("scales-" + path.name))
