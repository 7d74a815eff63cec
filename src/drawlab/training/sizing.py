"""Sizing a preset to this machine: the batch size that fits the time given (``TrainConfig.fit_batch``).

Measured, not assumed: a preset's model makes a few training steps on random images of the data's shape at
each candidate batch size, largest first; the first whose predicted steps in the run's minutes reach its
``fit_min_steps`` is chosen, else the smallest. At a few CPU minutes the number of steps decides: the
default preset (5 minutes) draws better at batch 32 than at 128 on every machine measured, and where batch 32
would make fewer than 1,900 steps (a machine ~4x slower than the one it was first tuned on), batch 16 draws
better still (independent judge's conditional accuracy 0.92 -> 0.955; benchmarks/RESULTS.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from ..config import TrainConfig
from ..errors import ConfigError
from ..models import FamilyContext, build_family

WARMUP_STEPS, PROBE_STEPS = 2, 5


def seconds_per_step(
    cfg: TrainConfig, shape: tuple[int, int, int], classes: int, batch: int, device: torch.device, autocast: Callable
) -> float:
    """Seconds per training step of ``cfg.model`` at ``batch`` here, laid out as the run will train it: the
    median of ``PROBE_STEPS`` steps after ``WARMUP_STEPS`` (one slow step of a busy machine does not decide);
    the global RNG state is left as it was."""
    state = torch.get_rng_state()
    try:
        fam = build_family(cfg.model, shape, classes, FamilyContext(autocast=autocast))
        channels_last = cfg.channels_last and fam.has_conv
        fam.to(device, channels_last)
        g = torch.Generator(device=device).manual_seed(0)
        x = torch.rand(batch, *shape, generator=g, device=device) * 2 - 1
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, max(classes, 1), (batch,), generator=g, device=device)
        times = []
        for i in range(WARMUP_STEPS + PROBE_STEPS):
            t = time.perf_counter()
            fam.train_step(x, y, g)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= WARMUP_STEPS:
                times.append(time.perf_counter() - t)
        return sorted(times)[len(times) // 2]
    finally:
        torch.set_rng_state(state)


def precision_probe(
    cfg: TrainConfig, shape: tuple[int, int, int], classes: int, device: torch.device
) -> Callable[[], tuple[float, float]]:
    """The measurement ``device.pick_precision('auto')`` decides by, made on this run's own training step (not
    a stand-in layer): (fp32, bf16) seconds per step of ``cfg.model`` at the batch it will train at first
    (the largest of ``fit_batch`` when the preset sizes itself), laid out as trained."""
    import contextlib

    batch = cfg.fit_batch[0] if cfg.fit_batch else cfg.batch_size

    def probe() -> tuple[float, float]:
        fp32 = seconds_per_step(cfg, shape, classes, batch, device, contextlib.nullcontext)
        bf16 = seconds_per_step(cfg, shape, classes, batch, device, lambda: torch.autocast(device.type, torch.bfloat16))
        return fp32, bf16

    return probe


def min_steps(cfg: TrainConfig) -> list[int]:
    """The steps each of ``cfg.fit_batch`` but the last must reach in ``cfg.minutes`` to be chosen."""
    m = cfg.fit_min_steps
    return [m] * (len(cfg.fit_batch) - 1) if isinstance(m, int) else list(m)


def fit_batch(cfg: TrainConfig, measure: Callable[[int], float]) -> tuple[int, dict]:
    """(the batch size, what was measured) for ``cfg.fit_batch`` and ``cfg.minutes``: the first batch whose
    predicted steps reach its threshold (``min_steps``), else the last, unmeasured; ``measure(batch)`` gives
    seconds per step."""
    seconds: dict[int, float] = {}
    need = min_steps(cfg)
    minutes = cfg.minutes or 0.0  # only minutes-limited runs are sized (``resolve``)
    chosen = cfg.fit_batch[-1]
    for b, n in zip(cfg.fit_batch[:-1], need):
        seconds[b] = measure(b)
        if minutes * 60 / seconds[b] >= n:
            chosen = b
            break
    return chosen, {"seconds_per_step": seconds, "min_steps": dict(zip(cfg.fit_batch, need)), "chosen": chosen}


def resolve(
    cfg: TrainConfig,
    shape: tuple[int, int, int],
    classes: int,
    device: torch.device,
    autocast: Callable,
    echo: Callable[[str], None],
    new_run: bool,
) -> dict | None:
    """Resolve ``cfg.fit_batch`` once, for a new minutes-limited run (``new_run``: not a resume, one process):
    set ``cfg.batch_size`` to the batch chosen and empty the list, so config.json holds the batch and a resume
    repeats the run as it was. Returns what was measured (config.json ``facts.sized_to_machine``), or None."""
    if not cfg.fit_batch:
        return None
    if not new_run or cfg.minutes is None or cfg.steps is not None or cfg.epochs is not None:
        cfg.fit_batch = []
        return None
    if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in cfg.fit_batch):
        raise ConfigError(f"fit_batch must list whole batch sizes >= 1, got {cfg.fit_batch}: fix config.json")
    if len(min_steps(cfg)) != len(cfg.fit_batch) - 1:
        raise ConfigError(
            f"fit_min_steps {cfg.fit_min_steps} needs one number per fit_batch {cfg.fit_batch} but "
            "the last: fix config.json"
        )
    batch, info = fit_batch(cfg, lambda b: seconds_per_step(cfg, shape, classes, b, device, autocast))
    if batch != cfg.batch_size:
        why = ", ".join(
            f"batch {b} ~{cfg.minutes * 60 / s:,.0f} steps (< {info['min_steps'][b]:,})"
            for b, s in info["seconds_per_step"].items()
        )
        echo(
            f"sized to this machine: batch {batch}, as in {cfg.minutes:g} minutes it would be {why}, too few to "
            f"draw well; --batch-size {cfg.batch_size} keeps the preset's"
        )
    cfg.batch_size, cfg.fit_batch = batch, []
    return info
