"""Options a TrainConfig can hold but a run cannot: each refused with one line before anything is built."""
from __future__ import annotations

from ..config import TrainConfig
from ..errors import ConfigError


def check_config(cfg: TrainConfig) -> None:
    """Reject impossible options with one clear line."""
    if cfg.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    if cfg.eval_every is not None and cfg.eval_every < 1:
        raise ConfigError("--eval-every must be at least 1 (steps between in-training FIDs)")
    for name in ("sample_every", "checkpoint_every", "eval_n", "keep_checkpoints", "grid_n", "log_every"):
        v = getattr(cfg, name)
        if v is not None and v < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
    if not 0 <= cfg.seed < 2 ** 63:
        raise ConfigError(f"--seed must be between 0 and 2**63 - 1, got {cfg.seed}")
    if cfg.model.d_width is not None and cfg.model.d_width < 1:
        raise ConfigError(f"--d-width must be at least 1, got {cfg.model.d_width}")
    if not 0 <= cfg.model.label_smoothing < 1:
        raise ConfigError(f"--label-smoothing must be in [0, 1), e.g. 0.1; got {cfg.model.label_smoothing}")
    for name in ("steps", "epochs"):
        v = getattr(cfg, name)
        if v is not None and v < 0:
            raise ConfigError(f"--{name} must be >= 0")
    if cfg.minutes is not None and cfg.minutes < 0:
        raise ConfigError("--minutes must be >= 0")
    if cfg.model.lr_g <= 0 or cfg.model.lr_d <= 0:
        raise ConfigError("learning rates must be > 0")
    if cfg.model.z_dim < 1 or cfg.model.width < 1:
        raise ConfigError("--z-dim and --width must be >= 1")
    if cfg.on_nan not in ("rollback", "stop"):
        raise ConfigError(f"--on-nan must be rollback or stop, got {cfg.on_nan!r}")
    if cfg.monitor_every is not None and cfg.monitor_every < 1:
        raise ConfigError(f"--monitor-every must be at least 1 (steps between D histograms), got {cfg.monitor_every}")
