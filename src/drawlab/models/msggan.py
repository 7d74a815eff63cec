"""msggan: MSG-GAN (Karnewar & Wang, CVPR 2020): multi-scale gradients from D to every stage of G.

G emits an image at every resolution from its first stage (4x4, or 7x7 for 28x28) to the output size;
D takes each at the matching depth, concatenated to its features there (the paper's simple "cat"
combine), so D's gradient reaches every stage of G directly. Relativistic average hinge by default
(the paper's choice: `drawlab train --model msggan` uses it unless --loss says otherwise). Sampling uses the full-size image only, so every tool
that draws works unchanged; the sample grids gain ``samples/scales-step-N.png``, one row per scale.

D given one full-size image (a real batch, the monitors, `drawlab inspect`) builds the lower scales by
average pooling, as the paper does for real images. Under transforms of D's inputs (instance noise,
DiffAugment) and the WGAN gradient penalty, real images become such a pyramid too; DiffAugment draws
its parameters once and applies them alike at every scale (a shift of 1/8 of the side is 1/8 at 4x4
too), and the penalty's gradient is taken w.r.t. every scale D reads.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import diff_augment_pyramid
from ..losses import Images
from ..modes import evaluating
from . import tricks
from .adversarial import AdversarialFamily
from .base import register
from .nets import Conditioner, dcgan_init, norm_layer, stage_channels, stage_plan


class MSGGenerator(nn.Module):
    """(z, y) -> the full-size image (B, C, S, S) in [-1, 1]; ``pyramid(z, y)`` -> every scale, coarse to fine.

    z [+ label] -> Linear -> (c0, s0, s0) -> k x [ConvTranspose 4x4 s2, BN, ReLU]; a 1x1 conv + tanh
    ("to image") after the first stage and after each upsampling.
    """

    def __init__(self, z_dim: int, shape: tuple[int, int, int], width: int = 64, num_classes: int = 0):
        super().__init__()
        c_img, size, _ = shape
        self.start, k = stage_plan(size)
        chans = stage_channels(width, k) if k > 0 else [width]
        self.cond = Conditioner(num_classes, min(50, 4 * max(num_classes, 1)))
        self.c0 = chans[0]
        self.fc = nn.Sequential(
            nn.Linear(z_dim + self.cond.dim, self.c0 * self.start**2, bias=False),
            nn.BatchNorm1d(self.c0 * self.start**2),
            nn.ReLU(True),
        )
        self.ups = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))
            for cin, cout in zip(chans, chans[1:] + [max(chans[-1] // 2, 8)])
        )
        outs = [chans[0]] + chans[1:] + [max(chans[-1] // 2, 8)]
        self.to_image = nn.ModuleList(nn.Sequential(nn.Conv2d(c, c_img, 1), nn.Tanh()) for c in outs[: k + 1])
        self.ups = self.ups[:k]

    def pyramid(self, z: torch.Tensor, y: torch.Tensor | None = None) -> list[torch.Tensor]:
        h = self.fc(self.cond(z, y)).view(z.shape[0], self.c0, self.start, self.start)
        out = [self.to_image[0](h)]
        for up, to_img in zip(self.ups, self.to_image[1:]):
            h = up(h)
            out.append(to_img(h))
        return out

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.pyramid(z, y)[-1]


class MSGDiscriminator(nn.Module):
    """(images: the full-size batch (B, C, S, S) or G's pyramid, y) -> logits (B,).

    k x [cat(features, image at this scale) -> Conv 4x4 s2 -> norm -> LeakyReLU], then cat the coarsest image,
    a 3x3 conv, flatten and a linear logit. Conditional: one-hot label planes beside the full-size image.
    """

    def __init__(self, shape: tuple[int, int, int], width: int = 64, num_classes: int = 0, norm: str = "batch"):
        super().__init__()
        c_img, size, _ = shape
        self.start, self.k = stage_plan(size)
        chans = list(reversed(stage_channels(width, self.k))) if self.k > 0 else []
        self.num_classes = num_classes
        blocks, cin = [], c_img + num_classes
        for i, cout in enumerate(chans):  # (cin [+ image], s) -> (cout, s/2)
            layers: list[nn.Module] = [nn.Conv2d(cin + (c_img if i > 0 else 0), cout, 4, 2, 1, bias=i == 0)]
            if i > 0 and norm != "none":
                layers.append(norm_layer(norm, cout))
            blocks.append(nn.Sequential(*layers, nn.LeakyReLU(0.2, True)))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        c_last = cin + (c_img if self.k > 0 else 0)
        self.final = nn.Sequential(nn.Conv2d(c_last, c_last, 3, 1, 1), nn.LeakyReLU(0.2, True), nn.Flatten())
        self.out = nn.Linear(c_last * self.start**2, 1)

    def scales(self, x: Images) -> list[torch.Tensor]:
        """Fine to coarse: G's pyramid reversed, or average-pooled from one full-size batch."""
        if isinstance(x, (list, tuple)):
            return list(reversed(x))
        out = [x]
        for _ in range(self.k):
            out.append(F.avg_pool2d(out[-1], 2))
        return out

    def forward(self, x: Images, y: torch.Tensor | None = None) -> torch.Tensor:
        imgs = self.scales(x)
        h = imgs[0]
        if self.num_classes > 0:
            assert y is not None, "a conditional discriminator needs labels"
            planes = F.one_hot(y, self.num_classes).to(h.dtype)[:, :, None, None]
            h = torch.cat([h, planes.expand(-1, -1, h.shape[2], h.shape[3])], 1)
        for i, block in enumerate(self.blocks):
            h = block(h if i == 0 else torch.cat([h, imgs[i]], 1))
        if self.k > 0:
            h = torch.cat([h, imgs[-1]], 1)
        return self.out(self.final(h)).squeeze(1)


@register
class MSGGAN(AdversarialFamily):
    name = "msggan"
    summary = "MSG-GAN (Karnewar & Wang): G draws every scale, D reads each at its depth; relativistic hinge"
    rung = 6.0
    uses_labels = True
    multiscale = True
    default_loss = "ra-hinge"  # MSG-GAN's own loss (Karnewar & Wang)

    def __init__(self, cfg, shape, num_classes, context=None):
        super().__init__(cfg, shape, num_classes, context)
        self.pyramid_inputs = cfg.instance_noise > 0 or bool(cfg.diffaugment) or cfg.penalty_weight() > 0

    def build_networks(self):
        g = MSGGenerator(self.cfg.z_dim, self.shape, self.cfg.width, self.num_classes)
        d = MSGDiscriminator(self.shape, self.cfg.d_width or self.cfg.width, self.num_classes, self.d_norm)
        dcgan_init(g)
        dcgan_init(d)
        return {"G": g, "D": d}

    def generate_for_d(self, z: torch.Tensor, y: torch.Tensor | None) -> Images:
        return cast(MSGGenerator, self.nets["G"]).pyramid(z, y)

    def d_view(self, x: Images, gen: torch.Generator) -> Images:  # type: ignore[override]  # pyramids too
        """What D reads: ``x`` itself, or under input transforms a pyramid (coarse to fine; a real batch
        average-pooled) with instance noise at every scale and DiffAugment alike at every scale."""
        if not self.pyramid_inputs:
            return x
        pyr = (
            list(x)
            if isinstance(x, (list, tuple))
            else list(reversed(cast(MSGDiscriminator, self.nets["D"]).scales(x)))
        )
        sigma = tricks.noise_sigma(self.cfg, self.steps_done)
        return diff_augment_pyramid([tricks.add_noise(t, sigma, gen) for t in pyr], self.augment, gen)

    @torch.no_grad()
    def scales_grid(self, z: torch.Tensor, y: torch.Tensor | None) -> list[torch.Tensor]:
        """The sampling generator's pyramid (coarse to fine) for z, in eval mode."""
        g = cast(MSGGenerator, self.sampler())
        with evaluating(g):
            return [t.float() for t in g.pyramid(z, y if self.conditional else None)]
