"""flow: flow matching / rectified flow (Lipman et al. 2022; Liu et al. 2022) with a small U-Net.

Train: x_t = (1 - t) x0 + t x1 for noise x0 ~ N(0, I), a real image x1 and t ~ U(0, 1); regress the
velocity x1 - x0 by MSE. Sample: integrate the ODE from noise to an image (euler or heun,
``--sample-steps``; see ``schedules``). A deterministic sampler: one seed, one image.
"""

from __future__ import annotations

from .. import rng
from . import schedules
from .base import register
from .denoising import DenoisingFamily, Pair


@register
class Flow(DenoisingFamily):
    name = "flow"
    summary = "flow matching (rectified flow): a U-Net learns the velocity from noise to image; ODE sampler"
    rung = 7.0
    samplers = schedules.FLOW_SAMPLERS

    def training_pair(self, x, gen):
        x0 = rng.randn(tuple(x.shape), gen, x.device)
        t = rng.rand((x.shape[0],), gen, x.device)
        xt, v = schedules.flow_pair(x, x0, t)
        return Pair(xt, t, v, noise=1 - t)

    def run_sampler(self, predict, x, keep):
        return schedules.flow_sample(predict, x, self.cfg.sample_steps, self.sampler_name, keep)

    def invert_images(self, predict, x):
        return schedules.flow_invert(predict, x, self.cfg.sample_steps, self.sampler_name)
