"""mlp-mse: the naive generator. (one-hot label, z) -> MLP -> image, trained with pixel MSE.

Whatever z says, the MSE-optimal output is the mean of the real images of that label:
the blurry "average digit". Shown honestly, as the first rung of the ladder.
"""

from __future__ import annotations

from .base import register
from .nets import MLPGenerator
from .reconstruction import ReconstructionFamily


@register
class MLPMSE(ReconstructionFamily):
    name = "mlp-mse"
    summary = "naive baseline: (label, noise) -> MLP -> image, pixel MSE (learns the blurry class average)"
    rung = 1.0

    def build_networks(self):
        return {"G": MLPGenerator(self.cfg.z_dim, self.shape, (256, 512), self.num_classes, one_hot=True)}
