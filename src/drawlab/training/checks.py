"""The one home of config checks: every setting against its declaration (config.py), then the rules that
need the registries (model, loss, data source) and combinations of settings. Each bad value is refused
with one line before any data is opened, hardware probed or file written.
"""

from __future__ import annotations

import copy

from .. import losses
from ..augment import parse_policy
from ..config import TrainConfig, check_values, resume_may_change
from ..data.sources import parse_spec
from ..errors import ConfigError
from ..models import REGISTRY, Family, get_family
from ..models.base import check_interval


def check_config(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` checked, as a resolved copy (the family's own loss where none is given); the caller's
    object is never changed. ConfigError (one line) names the first bad setting."""
    check_values(cfg)
    family = get_family(cfg.model.name)  # an unknown model is said before the data loads
    cfg = copy.deepcopy(cfg)
    if cfg.model.loss is None:
        cfg.model.loss = family.default_loss or "nonsaturating"
    _check_loss(cfg)
    _check_family(cfg, family)
    _check_combinations(cfg)
    parse_spec(cfg.data.spec)  # a spec no source reads is said before anything opens
    return cfg


def _check_loss(cfg: TrainConfig) -> None:
    m = cfg.model
    if m.loss not in losses.LOSSES:
        raise ConfigError(f"--loss {m.loss!r} is unknown: use one of {', '.join(losses.LOSSES)}")
    if m.label_smoothing > 0 and not losses.get_loss(m.loss).supports_smoothing:
        smooth = ", ".join(n for n, v in losses.LOSSES.items() if v.supports_smoothing)
        raise ConfigError(
            f"--label-smoothing applies to the {smooth} losses; {m.loss} has no probability targets: "
            "drop --label-smoothing"
        )


def _adversarial() -> str:
    return ", ".join(sorted(n for n, cls in REGISTRY.items() if cls.adversarial))


def _check_family(cfg: TrainConfig, family: type[Family]) -> None:
    """Options that only some families understand."""
    m = cfg.model
    if m.pair_labels == "random" and not family.pairs_labels:
        pairing = ", ".join(sorted(n for n, cls in REGISTRY.items() if cls.pairs_labels))
        raise ConfigError(
            f"--pair-labels random replays the article's MSE experiment: use it with {pairing}, not {m.name}"
        )
    check_interval(m)
    if family.adversarial:
        return
    if m.tricks():
        name = "--" + next(iter(m.tricks())).replace("_", "-")
        raise ConfigError(
            f"{name} is a trick for adversarial models ({_adversarial()}); {m.name} has no discriminator: drop it "
            "or choose one of those models"
        )
    if m.stabilisers():
        name = "--" + next(iter(m.stabilisers())).replace("_", "-")
        raise ConfigError(
            f"{name} regularises a discriminator; {m.name} has none: drop it or choose an adversarial model "
            f"({_adversarial()})"
        )


def _check_combinations(cfg: TrainConfig) -> None:
    m = cfg.model
    try:
        parse_policy(m.diffaugment)
    except ValueError as e:
        raise ConfigError(f"--diffaugment: {e}") from None
    if m.swap_real_fraction > 0 and m.swap_until_epoch <= 0:
        raise ConfigError("--swap-real-fraction needs --swap-until-epoch E (> 0): the epoch at which swapping stops")
    if m.loss == "wgan-gp" and m.penalty_weight() <= 0:
        raise ConfigError("--loss wgan-gp is defined with its gradient penalty: give --gp-weight > 0 (10 is usual)")


def same_run(saved: TrainConfig, cfg: TrainConfig) -> None:
    """ConfigError when ``cfg`` differs from the run's config.json in more than its length and runtime
    choices (``config.resume_may_change``): a resume continues the run it finds, it never rewrites it."""
    a, b = saved.to_dict(), cfg.to_dict()
    for path in resume_may_change():
        for d in (a, b):
            *parents, last = path.split(".")
            for part in parents:
                d = d.get(part, {})
            d.pop(last, None)
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
