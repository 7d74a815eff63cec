"""The base of the denoising families (flow matching, DDPM): a U-Net trained by MSE, sampled step by step.
Registers nothing.

Their latent is the initial noise image: ``z`` (B, C*H*W) is that image flattened (``latent_dim``), so seeds,
the fixed grid noise, slerp and the explorer work unchanged, and one seed gives one image (the default
samplers are deterministic: an ODE, or DDIM). Conditional on labelled data with classifier-free guidance
(Ho & Salimans 2022): while training the label is dropped with probability ``label_dropout``; at sampling
    pred = pred(x, t, none) + S (pred(x, t, y) - pred(x, t, none)),   S = ``guidance`` (1: the plain conditional)
at the network evaluations whose noise level (``noise_level``: 1 pure noise, 0 the image) lies in
[``guidance_low``, ``guidance_high``], and the plain conditional pred(x, t, y) (one pass, not two) at the others: guidance
in a limited interval (Kynkaanniemi et al. 2024, "Applying Guidance in a Limited Interval Improves Sample and
Distribution Quality in Diffusion Models").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NamedTuple

import torch

from .. import rng
from ..config import ModelConfig
from ..errors import ConfigError
from ..modes import evaluating
from .base import Family
from .context import FamilyContext
from .unet import UNet

Keep = Callable[[int, float, torch.Tensor], None]  # (step, t, x) after each sampling step


class Pair(NamedTuple):
    """One batch of a denoising objective: the network reads ``inp`` (B, C, H, W) at times ``t`` (B,) and
    should answer ``target`` (B, C, H, W); ``noise`` (B,) in [0, 1] is each image's noise level (1: pure)."""

    inp: torch.Tensor
    t: torch.Tensor
    target: torch.Tensor
    noise: torch.Tensor


NOISE_BUCKETS = 5  # the loss is logged per fifth of the noise level: loss_noise_0 (almost clean) .. _4 (pure noise)


def noise_bucket_key(k: int) -> str:
    """The metric name of noise bucket ``k`` (noise level in [k / 5, (k + 1) / 5))."""
    return f"loss_noise_{k}"


def bucket_losses(per_image: torch.Tensor, noise: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each bucket's share of the batch loss, scaled so that its mean over steps is the mean loss at that
    noise level: sum of ``per_image`` (B,) losses whose ``noise`` (B,) in [0, 1] falls in bucket k, over
    B / NOISE_BUCKETS. No host sync (one-hot product), never NaN for an empty bucket."""
    k = (noise.float() * NOISE_BUCKETS).long().clamp(0, NOISE_BUCKETS - 1)
    onehot = torch.nn.functional.one_hot(k, NOISE_BUCKETS).to(per_image.dtype)
    sums = (per_image.detach() @ onehot) * (NOISE_BUCKETS / per_image.shape[0])
    return {noise_bucket_key(i): sums[i] for i in range(NOISE_BUCKETS)}


class DenoisingFamily(Family):
    """A network ``G(x_t, t, y)`` learnt by regression and sampled by ``samplers`` (the first is the default)."""

    uses_labels = True
    latent_is_image = True
    # a sampler's state fits the cache at 128 images: 1,000 28x28 images at 20 Euler steps took 7.4-10 s in
    # batches of 64 or 128, 13 s in 256 and 17-19 s in 500 (2 threads, AMD EPYC Zen 5; /tmp probe, 4 repeats)
    draw_batch = 128

    def __init__(
        self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int, context: FamilyContext | None = None
    ):
        super().__init__(cfg, shape, num_classes, context)
        self.check_sampling(cfg)
        if shape[1] % cfg.patch or shape[2] % cfg.patch:
            raise ConfigError(
                f"--patch {cfg.patch} does not divide the {shape[1]}x{shape[2]} images: use a divisor of the side"
                f" (or --size a multiple of {cfg.patch})"
            )

    @classmethod
    def latent_dim(cls, cfg: ModelConfig, shape: tuple[int, int, int]) -> int:
        """The latent is the noise image: C * H * W values."""
        return int(shape[0] * shape[1] * shape[2])

    @property
    def prediction(self) -> str:
        """What the network answers: ``--prediction``, else the family's first."""
        return self.cfg.prediction or self.predictions[0]

    def as_target(self, out: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network's answer ``out`` at the noisy ``x`` (B, C, H, W) and times ``t`` (B,), as what the
        loss and the sampler read (the same unless the family's network answers something else)."""
        return out

    @property
    def sampler_name(self) -> str:
        """The sampler in force: ``--sampler``, else the family's first."""
        return self.cfg.sampler or self.samplers[0]

    def build_networks(self):
        c, h, _ = self.shape
        return {"G": UNet(c, h, self.cfg.width, self.num_classes, self.cfg.patch)}

    # -- training ------------------------------------------------------------------------------------
    def dropped(self, y: torch.Tensor, gen: torch.Generator) -> torch.Tensor | None:
        """The labels the network sees while training: each replaced by "no label" with ``label_dropout``."""
        if not self.conditional:
            return None
        drop = rng.rand(tuple(y.shape), gen, y.device) < self.cfg.label_dropout
        return torch.where(drop, torch.full_like(y, self.num_classes), y)

    def training_pair(self, x: torch.Tensor, gen: torch.Generator) -> Pair:
        """The family's objective for real images ``x`` (B, C, H, W) in [-1, 1]: what the network sees and
        what it should answer, drawn from ``gen``."""
        raise NotImplementedError

    def train_step(self, x, y, gen):
        """One step of MSE regression on ``training_pair`` (labels dropped for guidance after it)."""
        pair = self.training_pair(x, gen)
        return self.regress(pair, self.dropped(y, gen))

    def per_image_loss(self, net: torch.nn.Module, pair: Pair, y: torch.Tensor | None) -> torch.Tensor:
        """The MSE of ``net``'s answer per image (B,)."""
        with self.autocast():
            pred = self.as_target(net(pair.inp, pair.t, y).float(), pair.inp.float(), pair.t)
        return (pred - pair.target.float()).pow(2).flatten(1).mean(1)

    @torch.no_grad()
    def held_loss(self, x: torch.Tensor, y: torch.Tensor | None, seed: int = 0) -> dict[str, float]:
        """The denoising loss of the raw network ("G") and of the sampling one ("G_ema" when EMA is on) on
        the same images ``x`` with the same noise and times (from ``seed``): how far the EMA lags."""
        pair = self.training_pair(x, torch.Generator(device=x.device).manual_seed(seed))
        y = y if self.conditional else None
        out: dict[str, float] = {}
        for name in ("G", "G_ema"):
            if name in self.nets:
                with evaluating(self.nets[name]):
                    out[name] = float(self.per_image_loss(self.nets[name], pair, y).mean())
        return out

    def regress(self, pair: Pair, y: torch.Tensor | None):
        """One optimisation step of G towards ``pair.target`` by MSE; the step's metrics: the loss, and the
        loss per noise level (``pair.noise`` (B,) in [0, 1], 1 = pure noise; ``bucket_losses``)."""
        per_image = self.per_image_loss(self.nets["G"], pair, y)
        loss = per_image.mean()
        self.optimise(loss)
        self.context.steps_done += 1
        self.update_ema(pair.inp.shape[0])
        return {"loss_g": loss.detach(), **bucket_losses(per_image, pair.noise)}

    # -- sampling ------------------------------------------------------------------------------------
    def laid_out(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, C, H, W) in the networks' layout: a sampler's state stays in it from step to step
        (NHWC networks fed NCHW images ran 1.3x slower, measured on a CPU)."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()

    def noise_level(self, t: torch.Tensor) -> torch.Tensor:
        """The noise level (B,) in [0, 1] of the network's times ``t`` (B,), on flow's scale: x = (1 - n) x0 + n
        noise (1: pure noise, 0: the image); the scale of ``--guidance-low/--guidance-high``."""
        raise NotImplementedError

    def guided_at(self, t: torch.Tensor) -> bool:
        """Whether the network evaluation at times ``t`` (B,), all equal, is guided: guidance != 1 and its noise
        level in [``guidance_low``, ``guidance_high``] (decided per evaluation, as Kynkaanniemi et al. do: a Heun
        step across an end of the interval averages a guided and a plain slope)."""
        if self.cfg.guidance == 1.0:
            return False
        level = float(self.noise_level(t[:1]))  # float32 times: 1 - 0.6 is 0.39999998, so the ends get 1e-6
        return self.cfg.guidance_low - 1e-6 <= level <= self.cfg.guidance_high + 1e-6

    def predictor(self, y: torch.Tensor | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``predict(x, t)`` of the sampling network for labels ``y``, with classifier-free guidance on the
        steps ``guided_at`` picks."""
        g, s = self.sampler(), float(self.cfg.guidance)
        null = None if y is None else torch.full_like(y, self.num_classes)

        def predict(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            with self.autocast():
                if y is None or null is None or not self.guided_at(t):
                    return self.as_target(g(x, t, y).float(), x.float(), t)
                both = g(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null])).float()
                cond, uncond = both.chunk(2)
                return self.as_target(uncond + s * (cond - uncond), x.float(), t)

        return predict

    def run_sampler(self, predict, x: torch.Tensor, keep: Keep | None) -> torch.Tensor:
        """The family's sampler from noise images ``x`` (B, C, H, W)."""
        raise NotImplementedError

    def invert_images(self, predict, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] back to the noise the sampler would draw them from."""
        raise NotImplementedError

    @torch.no_grad()
    def generate(
        self, z: torch.Tensor, y: torch.Tensor | None = None, keep: Keep | None = None, clamp: bool = True
    ) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] from noise z (B, C*H*W), ``cfg.sample_steps`` steps of its sampler
        (``clamp=False``: the sampler's own output, which may overshoot the data's range; DDIM and ancestral
        DDPM clip their x0 estimates at every step, so theirs stays in it)."""
        if self.conditional and y is None:
            y = torch.arange(z.shape[0], device=z.device) % self.num_classes
        x = self.laid_out(z.float().reshape(z.shape[0], *self.shape))
        with evaluating(self.sampler()):
            out = self.run_sampler(self.predictor(y if self.conditional else None), x, keep)
        return (out.float().clamp(-1, 1) if clamp else out.float()).contiguous()

    @torch.no_grad()
    def invert(self, images: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Noise z (B, C*H*W) that the sampler turns into ``images`` (B, C, H, W) in [-1, 1] (approximately)."""
        if self.conditional and y is None:
            y = torch.zeros(images.shape[0], dtype=torch.long, device=images.device)
        with evaluating(self.sampler()):
            z = self.invert_images(self.predictor(y if self.conditional else None), self.laid_out(images.float()))
        return z.contiguous().reshape(images.shape[0], -1)

    def seeded_step_noise(self, x: torch.Tensor, steps: int) -> Callable[[int], torch.Tensor]:
        """Step noise for a stochastic sampler that depends on each image's own initial noise only: one
        seed, one image, whatever the batch. ``noise(i)`` (B, C, H, W) for step i."""
        seeds = [
            int.from_bytes(hashlib.blake2b(row.cpu().numpy().tobytes(), digest_size=8).digest(), "big") for row in x
        ]
        draws = torch.stack(
            [torch.randn((steps, *x.shape[1:]), generator=torch.Generator().manual_seed(s >> 1)) for s in seeds]
        ).to(x.device)
        return lambda i: draws[:, i]
