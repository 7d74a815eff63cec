"""What the discriminator looks at: saliency maps and activation maximisation.

Saliency (Simonyan et al. 2014): the gradient of D's logit with respect to the pixels, |d logit / d x|
(largest over colour channels), for one image at a time with D in evaluation mode. Activation
maximisation (Erhan et al. 2009; regularised as in Yosinski et al. 2015 and Olah et al. 2017): an
image optimised from noise to excite one of D's channels, with random jitter, a periodic blur and a
penalty on pixels outside [-1, 1]; the logit itself is a channel too ("the image D finds most real").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from ..api import Drawer
from ..data.batches import to_unit_range
from ..errors import ConfigError
from ..files import atomic_write
from ..images import to_uint8
from ..latent import seed_latents
from ..models.adversarial import AdversarialFamily
from ..models.registry import adversarial_names
from ..modes import evaluating

LOGIT = "logit"


def adversarial(drawer: Drawer) -> AdversarialFamily:
    """The run's family, which has a D; ConfigError when the model has none."""
    family = drawer.family
    if drawer.run is not None and drawer.run.is_export:
        raise ConfigError(
            "an exported model holds only its generator: looking inside D needs the training run's folder"
        )
    if not isinstance(family, AdversarialFamily) or "D" not in family.nets:
        raise ConfigError(
            f"this run's model ({family.name}) has no discriminator: `drawlab inspect` looks "
            f"inside D, so it needs an adversarial run ({adversarial_names()})"
        )
    return family


def discriminator(drawer: Drawer) -> nn.Module:
    """The run's D; ConfigError when the model has none."""
    return adversarial(drawer).nets["D"]


SMOOTH, NOISE = 16, 0.15  # SmoothGrad: samples, and noise as a share of the pixel range [-1, 1]


def saliency(
    drawer: Drawer, x: torch.Tensor, y: torch.Tensor | None, smooth: int = SMOOTH, noise: float = NOISE, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(maps (N, H, W) >= 0, logits (N,)) for images x (N, C, H, W) in [-1, 1] and labels (N,): each map
    is |gradient of D's logit| per pixel, the largest over channels, each image on its own. With
    ``smooth`` > 1 it is averaged over that many copies with Gaussian noise of ``noise`` x 2 added
    (SmoothGrad, Smilkov et al. 2017), which keeps the structure and drops the pixel-level speckle."""
    d = discriminator(drawer)
    device = next(d.parameters()).device
    g = torch.Generator().manual_seed(int(seed))
    k = max(1, smooth)
    maps, logits = [], []
    with evaluating(d):
        for i in range(len(x)):
            xi = x[i : i + 1].detach().float()
            copies = xi.expand(k, *xi.shape[1:]).clone()
            if k > 1:
                copies[1:] += 2 * noise * torch.randn(copies[1:].shape, generator=g)
            copies = copies.to(device).requires_grad_(True)
            yi = y[i : i + 1].expand(k).to(device) if drawer.conditional and y is not None else None
            logit = d(copies, yi)
            (grad,) = torch.autograd.grad(logit.sum(), copies)
            maps.append(grad.abs().amax(1).mean(0).cpu())
            logits.append(logit[:1].detach().float().cpu())  # D's reading of the image itself
    return torch.stack(maps), torch.cat(logits)


def heat(map_: torch.Tensor, image: torch.Tensor | None = None, alpha: float = 0.6) -> np.ndarray:
    """A saliency map (H, W) as uint8 RGB (H, W, 3) in the inferno colours, scaled to its 99th
    percentile; over ``image`` uint8 (C, H, W) when given (the image in grey, the map on top)."""
    from matplotlib import colormaps

    m = map_.float()
    m = (m / torch.quantile(m.flatten(), 0.99).clamp_min(1e-12)).clamp(0, 1)
    rgb = colormaps["inferno"](m.numpy())[..., :3]
    if image is None:
        return (rgb * 255).round().astype(np.uint8)
    grey = image.float().mean(0).numpy()[..., None] / 255.0
    w = alpha * m.numpy()[..., None]
    return ((1 - w) * grey + w * rgb).__mul__(255).round().clip(0, 255).astype(np.uint8)


@dataclass
class Saliency:
    """Images uint8 (N, C, H, W), their maps (N, H, W), D's readout values (N,) and a title each."""

    images: torch.Tensor
    maps: torch.Tensor
    values: torch.Tensor
    titles: list[str]


def saliency_panel(
    drawer: Drawer, images: torch.Tensor, labels: torch.Tensor | None, titles: list[str], smooth: int = SMOOTH
) -> Saliency:
    """Saliency of uint8 images (N, C, H, W) (real or generated) with D's reading of each."""
    x = to_unit_range(images)
    maps, logits = saliency(drawer, x, labels, smooth)
    return Saliency(images, maps, adversarial(drawer).readout.values(logits), titles)


def d_layers(d: nn.Module) -> list[tuple[str, nn.Module]]:
    """D's convolution and linear layers in order, the ones ``maximise`` can look into."""
    return [(n, m) for n, m in d.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and n]


def pick_layer(drawer: Drawer, layer: int | None) -> tuple[str, nn.Module]:
    """The layer ``layer`` (an index into ``d_layers``; default the last convolution)."""
    layers = d_layers(discriminator(drawer))
    if layer is None:
        convs = [i for i, (_, m) in enumerate(layers) if isinstance(m, nn.Conv2d)]
        layer = convs[-1] if convs else 0
    if not 0 <= layer < len(layers):
        listing = ", ".join(f"{i}: {n} ({_width(m)} channels)" for i, (n, m) in enumerate(layers))
        raise ConfigError(f"--layer {layer} is out of range: D's layers are {listing}")
    return layers[layer]


def _width(m: nn.Module) -> int:
    """Output channels of a layer of ``d_layers`` (a Conv2d or a Linear)."""
    if isinstance(m, nn.Conv2d):
        return m.out_channels
    if isinstance(m, nn.Linear):
        return m.out_features
    raise TypeError(f"{type(m).__name__} is not a layer of d_layers")


def _blur(x: torch.Tensor) -> torch.Tensor:
    """A 3x3 binomial blur per channel (B, C, H, W)."""
    k = torch.tensor([1.0, 2.0, 1.0], device=x.device)
    k = (k[:, None] * k[None, :]) / 16
    c = x.shape[1]
    return nn.functional.conv2d(
        nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(c, 1, 3, 3).contiguous(), groups=c
    )


def maximise(
    drawer: Drawer,
    channels: list[int | str],
    layer: int | None = None,
    steps: int = 200,
    lr: float = 0.05,
    seed: int = 0,
    label: int | None = None,
    jitter: int = 2,
    blur_every: int = 4,
    range_weight: float = 10.0,
) -> tuple[torch.Tensor, list[str]]:
    """Images uint8 (N, C, H, W) that excite each of ``channels`` of D's layer ``layer`` (mean over space),
    or D's logit for the entry ``"logit"`` -- the image D finds most real. Starts from seeded noise;
    every step jitters the image by up to ``jitter`` pixels, every ``blur_every`` steps blurs it, and
    pixels beyond [-1, 1] are penalised. Returns (images, a title each)."""
    d = discriminator(drawer)
    name, module = pick_layer(drawer, layer)
    for c in channels:
        if c != LOGIT and not 0 <= int(c) < _width(module):
            raise ConfigError(
                f"--channels {c} is out of range: layer {name} has {_width(module)} channels (0..{_width(module) - 1})"
            )
    device = next(d.parameters()).device
    n, shape = len(channels), drawer.shape
    g = torch.Generator().manual_seed(int(seed))
    x = (0.1 * torch.randn(n, *shape, generator=g)).to(device).requires_grad_(True)
    y = torch.full((n,), 0 if label is None else int(label), dtype=torch.long, device=device)
    if drawer.conditional and label is not None:
        drawer.seed_labels([0], label)  # checks the label's range
    grabbed: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: grabbed.append(out))
    opt = torch.optim.Adam([x], lr=lr)
    d.requires_grad_(False)
    try:
        with evaluating(d):
            for step in range(steps):
                grabbed.clear()
                dx, dy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=g))
                logits = d(torch.roll(x, (dx, dy), (2, 3)), y if drawer.conditional else None)
                act = grabbed[0]
                act = act.flatten(2).mean(2) if act.dim() == 4 else act  # (N, channels)
                score = torch.stack([logits[i] if c == LOGIT else act[i, int(c)] for i, c in enumerate(channels)])
                penalty = (x.abs() - 1).clamp_min(0).pow(2).flatten(1).sum(1)
                loss = (-score + range_weight * penalty).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if blur_every and (step + 1) % blur_every == 0 and step < steps - 1:
                    with torch.no_grad():
                        x.copy_(_blur(x))
    finally:
        handle.remove()
        d.requires_grad_(True)
    titles = ["most real" if c == LOGIT else f"{name} ch {c}" for c in channels]
    return to_uint8(x.detach().clamp(-1, 1)).cpu(), titles


# -- from a run, and to pictures ----------------------------------------------------------------------
def real_image(drawer: Drawer, seed: int, data_root: str | None = None) -> tuple[torch.Tensor, int]:
    """One real image of the run's data (uint8 (C, H, W), its label), picked by ``seed``."""
    from ..data import run_data

    cfg = drawer.config
    ds, _ = run_data(cfg.data, data_root)
    i = int(torch.randint(len(ds), (1,), generator=torch.Generator().manual_seed(int(seed))))
    img, label = ds.load_item(i)
    return img, int(label)


def image_file(drawer: Drawer, path: str) -> torch.Tensor:
    """An image file as the run's data is decoded (uint8 (C, H, W) at the run's size); one line if unreadable."""
    from ..data.decode import try_decode

    c, h, _ = drawer.shape
    a = try_decode(str(path), h, c)
    if a is None:
        raise ConfigError(f"--image {path}: not an image drawlab can read (png, jpg, webp, bmp)")
    return torch.tensor(a)


def saliency_of_run(
    drawer: Drawer,
    seed: int,
    label: int | None = None,
    image: str | None = None,
    data_root: str | None = None,
    smooth: int = SMOOTH,
) -> Saliency:
    """Saliency of a real image (or ``image``) beside the generated image of ``seed``."""
    gen_y = drawer.seed_labels([seed], label)
    generated = drawer.draw(seed_latents([seed], drawer.z_dim), gen_y)[0]
    if image is not None:
        other, other_y, what = image_file(drawer, image), int(gen_y[0]), Path(image).name
    else:
        other, other_y = real_image(drawer, seed, data_root)
        other_y = int(gen_y[0]) if label is not None else other_y
        what = "real"
    names = drawer.class_names
    cls = (lambda y: f", class {names[y] if y < len(names) else y}") if drawer.conditional else (lambda y: "")
    imgs = torch.stack([other, generated])
    y = torch.tensor([other_y, int(gen_y[0])]) if drawer.conditional else None
    return saliency_panel(
        drawer, imgs, y, [f"{what}{cls(other_y)}", f"generated, seed {seed}{cls(int(gen_y[0]))}"], smooth
    )


def _tile(a: np.ndarray, side: int) -> Image.Image:
    im = Image.fromarray(a if a.ndim == 3 else np.repeat(a[..., None], 3, 2))
    return im.resize((side, side), Image.Resampling.NEAREST)


def _sheet(columns: list[list[np.ndarray]], titles: list[str], out: Path, side: int = 168) -> Path:
    """Columns of tiles (uint8 HWC or HW) with a title over each column, as one PNG."""
    pad, head = 6, 34
    rows = max(len(c) for c in columns)
    sheet = Image.new("RGB", (pad + len(columns) * (side + pad), head + rows * (side + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, (col, title) in enumerate(zip(columns, titles)):
        x = pad + j * (side + pad)
        for k, line in enumerate(title.split("\n")[:2]):
            draw.text((x, 3 + 14 * k), line[:34], fill=(0, 0, 0))
        for i, a in enumerate(col):
            sheet.paste(_tile(a, side), (x, head + i * (side + pad)))
    return atomic_write(out, lambda tmp: sheet.save(tmp, format="PNG"))


def save_saliency(s: Saliency, out: str | Path, probability: bool = True) -> Path:
    """One column per image: the image, its saliency map, the map over the image; D's reading on top."""
    cols = []
    for img in s.images:
        hwc = img.permute(1, 2, 0).numpy()
        cols.append([hwc[..., 0] if hwc.shape[2] == 1 else hwc])
    titles = []
    for i, (t, v) in enumerate(zip(s.titles, s.values.tolist())):
        cols[i] += [heat(s.maps[i]), heat(s.maps[i], s.images[i])]
        titles.append(f"{t}\n" + (f"D: P(real) = {v:.2f}" if probability else f"D's score {v:.2f}"))
    return _sheet(cols, titles, Path(out))


def save_tiles(images: torch.Tensor, titles: list[str], out: str | Path) -> Path:
    """uint8 images (N, C, H, W) side by side, each under its title."""
    cols = []
    for img in images:
        hwc = img.permute(1, 2, 0).numpy()
        cols.append([hwc[..., 0] if hwc.shape[2] == 1 else hwc])
    return _sheet(cols, titles, Path(out))
