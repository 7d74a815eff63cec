"""Options a TrainConfig can hold but a run cannot: each refused with one line before anything is built."""

from __future__ import annotations

from ..config import TrainConfig
from ..errors import ConfigError


def check_config(cfg: TrainConfig) -> None:
    """Reject impossible options with one clear line, before any data is opened or hardware probed."""
    from ..models import get_family

    get_family(cfg.model.name)  # an unknown model is said before the data loads
    if cfg.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    if cfg.eval_every is not None and cfg.eval_every < 1:
        raise ConfigError("--eval-every must be at least 1 (steps between in-training FIDs)")
    for name in ("sample_every", "checkpoint_every", "eval_n", "keep_checkpoints", "grid_n", "log_every"):
        v = getattr(cfg, name)
        if v is not None and v < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
    if not 0 <= cfg.seed < 2**63:
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


RESUME_MAY_CHANGE = ("steps", "epochs", "minutes", "device", "precision", "cuda_graphs", "on_nan")


def same_run(saved: TrainConfig, cfg: TrainConfig) -> None:
    """ConfigError when ``cfg`` differs from the run's config.json in more than its length and runtime
    choices (RESUME_MAY_CHANGE): a resume continues the run it finds, it never rewrites it."""
    a, b = saved.to_dict(), cfg.to_dict()
    for k in RESUME_MAY_CHANGE:
        a.pop(k, None), b.pop(k, None)
    diff = sorted(_diff(a, b))
    if diff:
        raise ConfigError(
            f"resume continues a run with its own settings, and {', '.join(diff[:3])} differ from its "
            "config.json: resume with the run's config (RunDir(...).read_config()) or start a new run"
        )


def _diff(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
            out += _diff(a[k], b[k], f"{prefix}{k}.")
        elif a.get(k) != b.get(k):
            out.append(prefix + k)
    return out
