"""dcgan: Radford et al. 2015, scaled to the image size (transposed convs, BatchNorm, LeakyReLU in D)."""

from __future__ import annotations

from .adversarial import AdversarialFamily
from .base import register
from .nets import ConvDiscriminator, ConvGenerator, dcgan_init


@register
class DCGAN(AdversarialFamily):
    name = "dcgan"
    summary = "DCGAN (Radford et al.): conv generator and discriminator sized to the image, BatchNorm, Adam(2e-4, 0.5)"
    rung = 4.0

    def build_networks(self):
        g = ConvGenerator(self.cfg.z_dim, self.shape, self.cfg.width, self.num_classes)
        d = ConvDiscriminator(
            self.shape, self.cfg.d_width or self.cfg.width, self.num_classes, self.cfg.d_cond, self.d_norm
        )
        dcgan_init(g)
        dcgan_init(d)
        return {"G": g, "D": d}
