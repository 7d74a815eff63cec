"""The ranked gallery (the "uncanny valley"): of ``n`` samples, the ``k`` the discriminator rates most
real and the ``k`` it rates least real; for families without D, the nearest to and farthest from the
real data in the evaluation features. Written to ``RUN/monitor/gallery.png``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..data.batches import to_unit_range
from ..device import pick_device
from ..files import atomic_write
from ..images import grid_array
from ..latent import balanced_labels, seeded_noise
from ..run import RunDir

N_SAMPLES = 1000
K = 16


@dataclass
class Gallery:
    path: Path
    method: str  # how the samples were ranked, in words
    top: str  # caption of the first band
    bottom: str  # caption of the second band
    step: int


def d_scores(family, images: torch.Tensor, labels: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """D's logits (N,) on uint8 images (N, C, H, W), each judged on its own (D in evaluation mode)."""
    return family.judge(to_unit_range(images), labels, batch, as_in_training=False)


def feature_scores(
    run: RunDir,
    cfg,
    images: torch.Tensor,
    device: torch.device,
    echo: Callable[[str], None] | None,
    feature_steps: int | None = None,
) -> torch.Tensor:
    """Minus the distance (N,) of each image to its nearest real image in the evaluation features
    (higher = closer to the real data), over up to 5,000 real images."""
    from ..data import run_data
    from ..metrics.features import get_feature_net, real_images

    ds, root = run_data(cfg.data)
    fnet = get_feature_net(ds, root, device, steps=feature_steps, echo=echo)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:5000].sort().values
    f_real = torch.as_tensor(fnet.features(real_images(ds, idx)))
    f_fake = torch.as_tensor(fnet.features(images))
    return -torch.cdist(f_fake, f_real).min(dim=1).values.float()


def ranked_gallery(
    run_dir: str | Path,
    n: int = N_SAMPLES,
    k: int = K,
    seed: int = 0,
    device: str = "cpu",
    echo: Callable[[str], None] | None = None,
    feature_steps: int | None = None,
) -> Gallery:
    """Rank ``n`` samples of the run's newest checkpoint and write the top and bottom ``k`` as one picture."""
    run = RunDir(run_dir)
    dev = pick_device(device)
    family, cfg, facts, ck = run.open_family(None, dev)
    y = balanced_labels(n, family.num_classes)
    images = family.draw(seeded_noise(n, cfg.model.z_dim, seed), y)
    if family.adversarial:
        scores = d_scores(family, images, y, cfg.batch_size)
        method = f"{n:,} samples (seed {seed}) ranked by the discriminator's score at step {ck.step:,}"
        top, bottom = f"the {k} D rates most real", f"the {k} D rates least real"
    else:
        scores = feature_scores(run, cfg, images, dev, echo, feature_steps)
        method = (
            f"{n:,} samples (seed {seed}) ranked by distance to the nearest real image in the evaluation "
            f"features (the model has no discriminator)"
        )
        top, bottom = f"the {k} nearest the real data", f"the {k} farthest from it"
    order = torch.argsort(scores, descending=True)
    k = min(k, n // 2)
    path = write_bands(images[order[:k]], images[order[-k:].flip(0)], top, bottom, run.monitor / "gallery.png")
    return Gallery(path, method, top, bottom, ck.step)


def write_bands(best: torch.Tensor, worst: torch.Tensor, top: str, bottom: str, path: Path) -> Path:
    """Two captioned bands of uint8 images (k, C, H, W), 8 per row, stacked into one PNG."""
    bands = []
    for imgs, caption in ((best, top), (worst, bottom)):
        arr = grid_array(imgs, nrow=8)
        im = Image.fromarray(arr).convert("RGB")
        band = Image.new("RGB", (im.width, im.height + 18), "white")
        ImageDraw.Draw(band).text((4, 3), caption, fill=(0, 0, 0))
        band.paste(im, (0, 18))
        bands.append(band)
    canvas = Image.new("RGB", (max(b.width for b in bands), sum(b.height for b in bands) + 8), "white")
    canvas.paste(bands[0], (0, 0))
    canvas.paste(bands[1], (0, bands[0].height + 8))
    return atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))
