"""flow: flow matching / rectified flow (Lipman et al. 2022; Liu et al. 2022) with a small U-Net.

Train: x_t = (1 - t) x0 + t x1 for noise x0 ~ N(0, I), a real image x1 and t ~ U(0, 1); regress the
velocity x1 - x0 by MSE. Sample: integrate the ODE from noise to an image (euler or heun,
``--sample-steps``; see ``schedules``). A deterministic sampler: one seed, one image.

``--prediction x`` (Li & He 2025, "Back to Basics: Let Denoising Generative Models Denoise"): the network
answers the clean image x1^, read as the velocity it implies, v^ = (x1^ - x_t) / max(1 - t, 0.05), which
the same MSE trains and the sampler follows. Clean images lie near a low-dimensional manifold and the noise
in a velocity does not, so a network too narrow for what it reads (a U-Net on 4x4 pixel blocks: 48 values
in 32 channels) can still answer x1 where answering the velocity draws noise (measured on faces,
docs/flow-diffusion.md). ``--time-sampling logit-normal`` draws t = sigmoid(N(-0.8, 0.8)) instead of
U(0, 1) (Esser et al. 2024; Li & He 2025): mostly the noisy half, where a face's layout is decided.
"""

from __future__ import annotations

from .. import rng
from . import schedules
from .base import register
from .denoising import DenoisingFamily, Pair

X_PRED_MIN_GAP = 0.05  # 1 - t below this is read as this: the velocity of an x answer stays bounded near the data


@register
class Flow(DenoisingFamily):
    name = "flow"
    summary = "flow matching (rectified flow): a U-Net learns the velocity from noise to image; ODE sampler"
    rung = 7.0
    samplers = schedules.FLOW_SAMPLERS
    predictions = ("velocity", "x")

    def as_target(self, out, x, t):
        if self.prediction != "x":
            return out
        return (out - x) / (1 - t.view(-1, 1, 1, 1)).clamp_min(X_PRED_MIN_GAP)

    def noise_level(self, t):
        return 1 - t  # x_t = (1 - t) x0 + t x1: the noise's share of x_t

    def training_pair(self, x, gen):
        x0 = rng.randn(tuple(x.shape), gen, x.device)
        t = schedules.flow_train_times(x.shape[0], self.cfg.time_sampling, gen, x.device)
        xt, v = schedules.flow_pair(x, x0, t)
        return Pair(xt, t, v, noise=1 - t)

    def run_sampler(self, predict, x, keep):
        return schedules.flow_sample(predict, x, self.cfg.sample_steps, self.sampler_name, keep, self.cfg.sample_shift)

    def invert_images(self, predict, x):
        return schedules.flow_invert(predict, x, self.cfg.sample_steps, self.sampler_name, self.cfg.sample_shift)
