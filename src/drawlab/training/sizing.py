"""Sizing a preset to this machine: the batch size that fits the time given (``TrainConfig.fit_batch``).

Measured, not assumed: a preset's model makes a few training steps on random images of the data's shape at
each candidate batch size, largest first; the first whose predicted steps in the run's minutes reach
``fit_min_steps`` is chosen, else the smallest. On a machine 2x slower than the one a preset was tuned on,
the default preset at batch 128 makes ~800 steps in 5 minutes (conditional accuracy 0.88-0.90); at batch 64
~1,550 (0.96-0.98); on a fast machine batch 128 draws better (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import time
from typing import Callable

import torch

from ..config import TrainConfig
from ..models import build_family

PROBE_STEPS = 3


def seconds_per_step(cfg: TrainConfig, shape: tuple[int, int, int], classes: int, batch: int,
                     device: torch.device, autocast: Callable) -> float:
    """Seconds per training step of ``cfg.model`` at ``batch`` here (after one warm-up step); the global RNG
    state is left as it was."""
    state = torch.get_rng_state()
    try:
        fam = build_family(cfg.model, shape, classes).to(device)
        fam.autocast = autocast
        g = torch.Generator(device=device).manual_seed(0)
        x = torch.rand(batch, *shape, generator=g, device=device) * 2 - 1
        y = torch.randint(0, max(classes, 1), (batch,), generator=g, device=device)
        fam.train_step(x, y, g)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        for _ in range(PROBE_STEPS):
            fam.train_step(x, y, g)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - t) / PROBE_STEPS
    finally:
        torch.set_rng_state(state)


def fit_batch(cfg: TrainConfig, measure: Callable[[int], float]) -> tuple[int, dict]:
    """(the batch size, what was measured) for ``cfg.fit_batch`` and ``cfg.minutes``; ``measure(batch)``
    gives seconds per step."""
    seconds = {}
    for b in cfg.fit_batch:
        if b == cfg.fit_batch[-1]:
            break
        seconds[b] = measure(b)
        if cfg.minutes * 60 / seconds[b] >= cfg.fit_min_steps:
            return b, {"seconds_per_step": seconds, "min_steps": cfg.fit_min_steps, "chosen": b}
    b = cfg.fit_batch[-1]
    return b, {"seconds_per_step": seconds, "min_steps": cfg.fit_min_steps, "chosen": b}
