"""The classic stabilising tricks of GAN training, as small pure functions an adversarial step calls.

Every random draw comes from the trainer's generator, so a resumed run repeats them exactly.
Images are float (B, C, H, W) in [-1, 1]; targets float (B,) with 1 = real, 0 = generated.
"""

from __future__ import annotations

import torch

from .. import rng
from ..config import ModelConfig
from ..errors import ConfigError
from .registry import adversarial_names


def targets(
    n: int, real: bool, smoothing: float, flip: float, gen: torch.Generator, device: torch.device
) -> torch.Tensor:
    """D's targets (n,): 1 - ``smoothing`` for real images (one-sided smoothing), 0 for generated ones,
    each flipped to the other side with probability ``flip``."""
    t = torch.full((n,), 1.0 - smoothing if real else 0.0, device=device)
    if flip > 0:
        flipped = rng.rand((n,), gen, device) < flip
        t = torch.where(flipped, (0.0 if real else 1.0 - smoothing) * torch.ones_like(t), t)
    return t


def noise_sigma(cfg: ModelConfig, step: int) -> float:
    """Instance-noise std at ``step``: ``instance_noise`` decaying linearly to 0 at ``instance_noise_steps``."""
    if cfg.instance_noise <= 0:
        return 0.0
    end = cfg.instance_noise_steps or 1000
    return cfg.instance_noise * max(0.0, 1.0 - step / end)


def add_noise(x: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """``x`` plus Gaussian noise of std ``sigma`` (``x`` itself when sigma is 0)."""
    if sigma <= 0:
        return x
    return x + sigma * rng.randn(x.shape, gen, x.device, x.dtype)


def swap_count(cfg: ModelConfig, batch: int, step: int, steps_per_epoch: int) -> int:
    """How many images of a real batch of ``batch`` are swapped for generated ones at ``step``."""
    if cfg.swap_real_fraction <= 0 or step >= cfg.swap_until_epoch * steps_per_epoch:
        return 0
    return int(round(cfg.swap_real_fraction * batch))


def swap_real(x: torch.Tensor, fake: torch.Tensor, k: int) -> torch.Tensor:
    """The real batch ``x`` with its first ``k`` images replaced by ``fake[:k]`` (detached): D is told they are real."""
    if k <= 0:
        return x
    return torch.cat([fake[:k].detach().to(x.dtype), x[k:]])


def check_tricks(cfg: ModelConfig, adversarial: bool, family: str) -> None:
    """One clear line for a trick with a bad value, or switched on for a model without a discriminator."""
    if not adversarial:
        on = {k: v for k, v in cfg.tricks().items() if k != "d_steps"}
        if cfg.d_steps != 1:
            on["d_steps"] = cfg.d_steps
        if on:
            name = "--" + next(iter(on)).replace("_", "-")
            raise ConfigError(
                f"{name} is a trick for adversarial models ({_adversarial()}); {family} has no "
                "discriminator: drop it or choose one of those models"
            )
        return
    for name in ("g_steps",):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    for name in ("d_pretrain_steps", "swap_until_epoch", "instance_noise"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    for name in ("swap_real_fraction", "flip_labels"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise ConfigError(
                f"--{name.replace('_', '-')} is a fraction: give a value in [0, 1], got {getattr(cfg, name)}"
            )
    if cfg.flip_labels >= 0.5:
        raise ConfigError(
            f"--flip-labels {cfg.flip_labels} flips half or more of D's targets, which teaches D "
            "the opposite task: use a small value such as 0.05"
        )
    if cfg.instance_noise_steps is not None and cfg.instance_noise_steps < 1:
        raise ConfigError(f"--instance-noise-steps must be at least 1, got {cfg.instance_noise_steps}")
    if cfg.swap_real_fraction > 0 and cfg.swap_until_epoch <= 0:
        raise ConfigError("--swap-real-fraction needs --swap-until-epoch E (> 0): the epoch at which swapping stops")


NORMS = ("auto", "batch", "layer", "instance", "none")
SPECTRAL = ("none", "d", "g", "both")


def check_stabilisers(cfg: ModelConfig, adversarial: bool, family: str) -> None:
    """One clear line for a loss regulariser or stabiliser with a bad value, a bad combination, or one
    switched on for a model without a discriminator."""
    from ..augment import parse_policy

    if cfg.spectral_norm not in SPECTRAL:
        raise ConfigError(f"--spectral-norm {cfg.spectral_norm!r}: use one of {', '.join(SPECTRAL)}")
    if cfg.d_norm not in NORMS:
        raise ConfigError(f"--d-norm {cfg.d_norm!r}: use one of {', '.join(NORMS)}")
    try:
        parse_policy(cfg.diffaugment)
    except ValueError as e:
        raise ConfigError(f"--diffaugment: {e}") from None
    if cfg.gp_weight is not None and cfg.gp_weight < 0:
        raise ConfigError(f"--gp-weight must be >= 0, got {cfg.gp_weight}")
    if cfg.r1 < 0:
        raise ConfigError(f"--r1 must be >= 0, got {cfg.r1}")
    if cfg.r1_every < 1:
        raise ConfigError(f"--r1-every must be at least 1, got {cfg.r1_every}")
    on = cfg.stabilisers()
    if not adversarial:
        if on:
            name = "--" + next(iter(on)).replace("_", "-")
            raise ConfigError(
                f"{name} regularises a discriminator; {family} has none: drop it or choose an "
                f"adversarial model ({_adversarial()})"
            )
        return
    if cfg.loss == "wgan-gp" and cfg.penalty_weight() <= 0:
        raise ConfigError("--loss wgan-gp is defined with its gradient penalty: give --gp-weight > 0 (10 is usual)")
    penalised = cfg.penalty_weight() > 0 or cfg.r1 > 0
    if penalised and cfg.resolved_d_norm() == "batch":
        raise ConfigError(
            "a gradient penalty (--gp-weight, --r1) with --d-norm batch mixes every image of a batch "
            "into each image's gradient: use --d-norm layer, instance or none (auto chooses)"
        )


def _adversarial() -> str:
    return adversarial_names()
