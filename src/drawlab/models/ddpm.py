"""ddpm: denoising diffusion (Ho et al. 2020), T = 1000, with a small U-Net.

Train: x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s) eps for a step s ~ U{0..T-1}; regress by MSE the noise eps,
or under ``--prediction v`` the velocity v = sqrt(abar_s) eps - sqrt(1 - abar_s) x0 (Salimans & Ho 2022).
Sample: deterministic DDIM (Song et al. 2020, the default) or ancestral DDPM over ``--sample-steps``
trailing-spaced steps (see ``schedules``); the noise schedule is ``--schedule`` (linear or cosine).
"""

from __future__ import annotations

import torch

from .. import rng
from . import schedules
from .base import register
from .denoising import DenoisingFamily, Pair


@register
class DDPM(DenoisingFamily):
    name = "ddpm"
    summary = "denoising diffusion (DDPM, epsilon or v prediction, T=1000): a U-Net learns the noise; DDIM sampler"
    rung = 7.1
    samplers = schedules.DDPM_SAMPLERS
    predictions = schedules.PREDICTIONS

    @property
    def abar(self) -> torch.Tensor:
        if not hasattr(self, "_abar"):
            self._abar = schedules.alpha_bars(self.cfg.schedule)
        return self._abar

    def noise_level(self, t):
        """sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)) at step s = t T: flow's 1 - t at the same ratio of noise
        to signal, so an interval means the same noise on both families and on either schedule."""
        a = self.abar.to(t.device)[(t.float() * schedules.T_STEPS).round().long().clamp(0, schedules.T_STEPS - 1)]
        return (1 - a).sqrt() / (a.sqrt() + (1 - a).sqrt())

    def training_pair(self, x, gen):
        eps = rng.randn(tuple(x.shape), gen, x.device)
        s = rng.randint(0, schedules.T_STEPS, (x.shape[0],), gen, x.device)
        xs, t = schedules.ddpm_pair(x, eps, s, self.abar)
        return Pair(xs, t, schedules.ddpm_target(x, eps, s, self.abar, self.prediction), noise=t)

    def run_sampler(self, predict, x, keep):
        steps = self.cfg.sample_steps
        noise = self.seeded_step_noise(x, steps) if self.sampler_name == "ddpm" else None
        return schedules.ddpm_sample(predict, x, steps, self.abar, self.sampler_name, noise, keep, self.prediction)

    def invert_images(self, predict, x):
        return schedules.ddim_invert(predict, x, self.cfg.sample_steps, self.abar, self.prediction)
