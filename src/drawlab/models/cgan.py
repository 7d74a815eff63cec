"""cgan: conditional DCGAN. The label enters G as an embedding beside z and D by projection
(Miyato & Koyama 2018), so ``sample --label K`` draws class K."""
from __future__ import annotations

from .base import register
from .dcgan import DCGAN


@register
class CGAN(DCGAN):
    name = "cgan"
    summary = "conditional DCGAN: label embedding into G, projection discriminator; sample --label K"
    needs_labels = True
    uses_labels = True
