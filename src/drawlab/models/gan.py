"""gan: the original fully connected GAN (Goodfellow et al. 2014) with the non-saturating loss on logits."""

from __future__ import annotations

from .adversarial import AdversarialFamily
from .base import register
from .nets import MLPDiscriminator, MLPGenerator


@register
class GAN(AdversarialFamily):
    name = "gan"
    summary = "MLP generator and discriminator, non-saturating BCE on logits"
    rung = 3.0

    def build_networks(self):
        return {
            "G": MLPGenerator(self.cfg.z_dim, self.shape, (256, 512, 1024)),
            "D": MLPDiscriminator(self.shape, (512, 256)),
        }
