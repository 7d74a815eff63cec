"""conv-mse: the naive generator with a transposed-conv body, still trained with pixel MSE."""

from __future__ import annotations

from .base import register
from .nets import ConvGenerator, dcgan_init
from .reconstruction import ReconstructionFamily


@register
class ConvMSE(ReconstructionFamily):
    name = "conv-mse"
    summary = "baseline: (label, noise) -> transposed convs (4x4 -> 8 -> ...) -> image, pixel MSE"
    rung = 1.1

    def build_networks(self):
        g = ConvGenerator(self.cfg.z_dim, self.shape, self.cfg.width, self.num_classes, one_hot=True)
        dcgan_init(g)
        return {"G": g}
