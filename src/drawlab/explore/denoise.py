"""Pictures of how the denoisers (flow, ddpm) draw: the sketch-to-detail trajectory, the same seeds at more
and more sampling steps, and inversion (a real image run back to its noise, then forward again).

Each returns ``Frames`` (``frames.save_frames`` writes PNG, GIF or .npz); one seed is one picture, as in
``drawlab sample --seeds``. Any other family gets one line: it draws in one pass, there is nothing between.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..api import Drawer
from ..data.batches import to_unit_range
from ..errors import ConfigError
from ..images import to_uint8
from ..latent import seed_latents
from ..models.denoising import DenoisingFamily
from .frames import Frames

NFE_STEPS = (1, 2, 5, 10, 20, 50)


def denoiser(drawer: Drawer) -> DenoisingFamily:
    """The run's family if it samples in steps, else one line saying so."""
    fam = drawer.family
    if not isinstance(fam, DenoisingFamily):
        raise ConfigError(
            f"this run's model ({fam.name}) draws in one pass: trajectories, sampling steps and inversion are "
            "for the denoisers (flow, ddpm)"
        )
    return fam


def _seeds(drawer: Drawer, seeds: Sequence[int], label: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    y = drawer.seed_labels(list(seeds), label)
    return seed_latents(list(seeds), drawer.z_dim).to(drawer.device), y.to(drawer.device)


@torch.no_grad()
def trajectory(drawer: Drawer, seeds: Sequence[int], label: int | None = None, columns: int = 8) -> Frames:
    """One row per seed: its noise, ``columns - 2`` states along the sampler's path and the image (the
    "sketch to detail" strip). Column titles are the time t (0 = noise, 1 = image)."""
    fam = denoiser(drawer)
    z, y = _seeds(drawer, seeds, label)
    steps = fam.cfg.sample_steps
    states: dict[int, tuple[float, torch.Tensor]] = {0: (0.0, z.reshape(len(z), *drawer.shape))}
    fam.generate(z, y, keep=lambda i, t, x: states.__setitem__(i, (t, x.clone())))
    picks = sorted({round(k * steps / max(1, columns - 1)) for k in range(columns)})
    imgs = torch.stack([to_uint8(states[i][1].clamp(-1, 1)).cpu() for i in picks], dim=1)  # (R, T, C, H, W)
    cols = [f"t={states[i][0]:.2f}" for i in picks]
    return _frames(imgs, z, y, seeds, cols)


@torch.no_grad()
def by_steps(
    drawer: Drawer, seeds: Sequence[int], label: int | None = None, steps: Sequence[int] = NFE_STEPS
) -> Frames:
    """One row per seed, one column per number of sampling steps: what fewer network evaluations cost."""
    fam = denoiser(drawer)
    z, y = _seeds(drawer, seeds, label)
    kept = fam.cfg
    cols = []
    try:
        for s in steps:
            fam.set_sampling(sample_steps=int(s))
            cols.append(to_uint8(fam.generate(z, y)).cpu())
    finally:
        fam.cfg = kept
    heun = (kept.sampler or fam.samplers[0]) == "heun"  # two network evaluations a step
    titles = [f"{2 * s} NFE" if heun else f"{s} steps" for s in steps]
    return _frames(torch.stack(cols, dim=1), z, y, seeds, titles)


@torch.no_grad()
def inversion(drawer: Drawer, images: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[Frames, float]:
    """Real uint8 images (N, C, H, W) run back to their noise by the sampler's ODE (or DDIM) and forward
    again: rows of (image, its noise, the reconstruction) and the mean absolute error in [0, 2] units."""
    fam = denoiser(drawer)
    x = to_unit_range(images).to(drawer.device)
    y = labels.to(drawer.device) if labels is not None and fam.conditional else None
    z = fam.invert(x, y)
    back = fam.generate(z, y)
    err = float((back - x).abs().mean())
    noise = (z.reshape(len(z), *drawer.shape) / 3).clamp(-1, 1)  # noise shown at +-3 sigma
    imgs = torch.stack([to_uint8(x).cpu(), to_uint8(noise).cpu(), to_uint8(back).cpu()], dim=1)
    yy = y if y is not None else torch.zeros(len(x), dtype=torch.long)
    rows = [f"image {i}" for i in range(len(x))]
    f = Frames(
        imgs, z.cpu()[:, None].expand(-1, 3, -1), yy.cpu()[:, None].expand(-1, 3), rows, ["image", "noise", "again"]
    )
    return f, err


def _frames(imgs: torch.Tensor, z: torch.Tensor, y: torch.Tensor, seeds: Sequence[int], cols: list[str]) -> Frames:
    t = imgs.shape[1]
    return Frames(
        imgs, z.cpu()[:, None].expand(-1, t, -1), y.cpu()[:, None].expand(-1, t), [f"seed {s}" for s in seeds], cols
    )
