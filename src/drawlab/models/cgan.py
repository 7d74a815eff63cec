"""cgan: conditional DCGAN. The label enters G as an embedding beside z, and D as one-hot planes
beside the image (``d_cond="concat"``, Mirza & Osindero 2014; ``--d-cond projection`` adds the
projection of Miyato & Koyama 2018 instead, which collapsed within classes in our MNIST runs),
so ``sample --label K`` draws class K."""

from __future__ import annotations

from .base import register
from .dcgan import DCGAN


@register
class CGAN(DCGAN):
    name = "cgan"
    summary = "conditional DCGAN: label embedding into G, one-hot label planes into D; sample --label K"
    rung = 5.0
    needs_labels = True
    uses_labels = True
