"""Noise schedules and samplers of the denoising families, apart from the network (as diffusers' schedulers).

A sampler takes ``predict(x, t) -> (B, C, H, W)`` (the network, guidance already applied) and the initial
noise ``x`` (B, C, H, W); it returns images (B, C, H, W), about [-1, 1]. Registers nothing.

Flow matching (Lipman et al. 2022; rectified flow, Liu et al. 2022), t from 0 (noise) to 1 (data):
    x_t = (1 - t) x0 + t x1,   x0 ~ N(0, I),   the velocity v = x1 - x0,   dx/dt = v(x_t, t)
    euler: x += dt v(x, t)        heun: x' = x + dt v(x, t);  x += dt (v(x, t) + v(x', t + dt)) / 2

DDPM (Ho et al. 2020), integer steps s = 0 .. T-1 (T = 1000), abar_s = prod_{i <= s} (1 - beta_i):
    x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s) eps,   its time input is s / T,   the network predicts
        eps (Ho et al.):  x0^ = (x - sqrt(1 - abar) eps^) / sqrt(abar)   (ill posed where abar -> 0), or
        v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022):  x0^ = sqrt(abar) x - sqrt(1 - abar) v^,
        eps^ = sqrt(1 - abar) x + sqrt(abar) v^   (well posed at every noise level)
    ddim (Song et al. 2020, eta = 0): x0^ from the prediction, clipped to [-1, 1];
        x <- sqrt(abar') x0^ + sqrt(1 - abar') eps^   (eps^ recomputed from the clipped x0^)
    ddpm (ancestral): the posterior q(x' | x, x0^) over the same strided steps, plus its noise
    steps are spaced "trailing" (999, 899, ..., 99 for 10 of 1000): "leading" spacing never starts at pure
    noise, the few-step pitfall documented in diffusers' DDIMScheduler (Lin et al. 2023, table 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import rng

Predict = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
FLOW_SAMPLERS = ("euler", "heun")
DDPM_SAMPLERS = ("ddim", "ddpm")
PREDICTIONS = ("eps", "v")
SCHEDULES = ("linear", "cosine")
T_STEPS = 1000


def per_sample(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``v`` (B,) shaped to broadcast over ``like`` (B, ...): images (B, C, H, W) or points (B, 2)."""
    return v.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


# -- flow matching ---------------------------------------------------------------------------------
def flow_pair(x1: torch.Tensor, x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, target velocity) for data x1, noise x0 (B, C, H, W) or (B, D) and times t (B,) in [0, 1]."""
    tb = per_sample(t, x1)
    return (1 - tb) * x0 + tb * x1, x1 - x0


LOGIT_NORMAL = (-0.8, 0.8)  # mean and spread of logit(t) under --time-sampling logit-normal (Li & He 2025)
TIME_SAMPLINGS = ("uniform", "logit-normal")


def flow_train_times(n: int, how: str, gen: torch.Generator, device: torch.device | str) -> torch.Tensor:
    """Training times (n,) in (0, 1) for flow matching: U(0, 1), or logit-normal, t = sigmoid(m + s N(0, 1))
    with (m, s) = LOGIT_NORMAL (median t = 0.31: mostly the noisy half; t = 1 is the data)."""
    if how == "uniform":
        return rng.rand((n,), gen, device)
    m, s = LOGIT_NORMAL
    return torch.sigmoid(m + s * rng.randn((n,), gen, device))


def flow_times(steps: int, shift: float = 1.0) -> list[float]:
    """The ODE's time grid 0 = t_0 < ... < t_steps = 1: t = u / (u + shift (1 - u)) over uniform u, so
    shift 1 is uniform and shift > 1 puts more steps near the noise (t = 0), as logit-normal training
    times do (shift 3: t_1 = 0.017, the last step from t = 0.86)."""
    return [u / (u + shift * (1 - u)) for u in (i / steps for i in range(steps + 1))]


def flow_sample(
    predict: Predict,
    x: torch.Tensor,
    steps: int,
    sampler: str = "euler",
    keep: Callable | None = None,
    shift: float = 1.0,
) -> torch.Tensor:
    """Integrate dx/dt = v from t = 0 (noise ``x``) to 1 in ``steps`` steps on ``flow_times`` (euler: 1
    evaluation per step, heun: 2). ``keep(i, t, x)`` sees the state after each step (the trajectory pictures)."""
    ts = flow_times(steps, shift)
    for i in range(steps):
        t0, t1 = ts[i], ts[i + 1]
        v0 = predict(x, torch.full((x.shape[0],), t0, device=x.device))
        if sampler == "heun":
            guess = x + (t1 - t0) * v0
            v1 = predict(guess, torch.full((x.shape[0],), t1, device=x.device))
            x = x + (t1 - t0) * (v0 + v1) / 2
        else:
            x = x + (t1 - t0) * v0
        if keep is not None:
            keep(i + 1, t1, x)
    return x


def flow_invert(
    predict: Predict, x: torch.Tensor, steps: int, sampler: str = "euler", shift: float = 1.0
) -> torch.Tensor:
    """The same ODE backwards on the same grid, from an image (t = 1) to its noise (t = 0): the flow's encoder."""
    ts = flow_times(steps, shift)
    for i in range(steps, 0, -1):
        t1, t0 = ts[i], ts[i - 1]
        v1 = predict(x, torch.full((x.shape[0],), t1, device=x.device))
        if sampler == "heun":
            guess = x - (t1 - t0) * v1
            v0 = predict(guess, torch.full((x.shape[0],), t0, device=x.device))
            x = x - (t1 - t0) * (v0 + v1) / 2
        else:
            x = x - (t1 - t0) * v1
    return x


# -- DDPM ------------------------------------------------------------------------------------------
def alpha_bars(schedule: str, T: int = T_STEPS) -> torch.Tensor:
    """abar_s (T,) float64: linear betas 1e-4 .. 0.02 (Ho et al.), or cosine (Nichol & Dhariwal 2021, s = 0.008)."""
    if schedule == "linear":
        betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
        return torch.cumprod(1 - betas, 0)
    s = 0.008
    f = torch.cos((torch.arange(T + 1, dtype=torch.float64) / T + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0)


def ddpm_pair(
    x0: torch.Tensor, eps: torch.Tensor, s: torch.Tensor, abar: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_s, the network's time input s / T) for data x0, noise eps (B, ...) and integer steps s (B,)."""
    a = per_sample(abar.to(x0.device)[s], x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps, s.float() / len(abar)


def ddpm_target(x0: torch.Tensor, eps: torch.Tensor, s: torch.Tensor, abar: torch.Tensor, kind: str) -> torch.Tensor:
    """What the network regresses (B, ...): ``eps``, or v = sqrt(abar_s) eps - sqrt(1 - abar_s) x0."""
    if kind == "eps":
        return eps
    a = per_sample(abar.to(x0.device)[s], x0)
    return a.sqrt() * eps - (1 - a).sqrt() * x0


def split_prediction(pred: torch.Tensor, x: torch.Tensor, a: float, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0^, eps^) from the network's prediction ``pred`` at the noisy ``x`` whose abar is ``a``."""
    if kind == "v":
        return math.sqrt(a) * x - math.sqrt(1 - a) * pred, math.sqrt(1 - a) * x + math.sqrt(a) * pred
    return (x - math.sqrt(1 - a) * pred) / math.sqrt(a), pred


def trailing_steps(steps: int, T: int = T_STEPS) -> list[int]:
    """``steps`` integer steps from T - 1 down, evenly spaced and ending at T / steps - 1 ("trailing")."""
    steps = max(1, min(steps, T))
    return [int(round(T - i * T / steps)) - 1 for i in range(steps)]


def ddpm_sample(
    predict: Predict,
    x: torch.Tensor,
    steps: int,
    abar: torch.Tensor,
    sampler: str = "ddim",
    noise: Callable[[int], torch.Tensor] | None = None,
    keep: Callable | None = None,
    prediction: str = "eps",
) -> torch.Tensor:
    """From pure noise ``x`` to images in ``steps`` network evaluations (see the module docstring); the
    ancestral sampler draws its step noise from ``noise(i)`` (B, C, H, W). ``keep(i, t, x)`` sees each step;
    ``prediction`` is what the network predicts (eps or v)."""
    T = len(abar)
    seq = trailing_steps(steps, T)
    for i, s in enumerate(seq):
        a = float(abar[s])
        a_prev = float(abar[seq[i + 1]]) if i + 1 < len(seq) else 1.0
        x0, _ = split_prediction(predict(x, torch.full((x.shape[0],), s / T, device=x.device)), x, a, prediction)
        x0 = x0.clamp(-1, 1)
        eps = (x - math.sqrt(a) * x0) / math.sqrt(1 - a)
        if sampler == "ddpm" and i + 1 < len(seq):
            beta = 1 - a / a_prev
            mean = (math.sqrt(a_prev) * beta / (1 - a)) * x0 + (math.sqrt(1 - beta) * (1 - a_prev) / (1 - a)) * x
            std = math.sqrt((1 - a_prev) / (1 - a) * beta)
            x = mean + std * (noise(i) if noise is not None else torch.randn_like(x))
        else:
            x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
        if keep is not None:
            keep(i + 1, 1 - s / T, x)
    return x


def ddim_invert(
    predict: Predict, x: torch.Tensor, steps: int, abar: torch.Tensor, prediction: str = "eps"
) -> torch.Tensor:
    """DDIM run backwards (an image to its noise), the usual approximate inversion: the network's noise
    estimate at the next step s is taken as that of the current, less noisy x."""
    T = len(abar)
    seq = list(reversed(trailing_steps(steps, T)))
    a_prev = 1.0
    for s in seq:
        a = float(abar[s])
        _, eps = split_prediction(predict(x, torch.full((x.shape[0],), s / T, device=x.device)), x, a, prediction)
        x0 = (x - math.sqrt(1 - a_prev) * eps) / math.sqrt(a_prev)
        x = math.sqrt(a) * x0 + math.sqrt(1 - a) * eps
        a_prev = a
    return x
