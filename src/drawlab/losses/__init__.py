"""GAN and reconstruction losses, one file each, found through the registry.

Every module of this package is imported once, so a new file with a ``@register_loss``ed adversarial
loss (or a ``@register_penalty``ed D regulariser) is found without editing any list: it appears in
``LOSSES``, ``names()``, ``summaries()`` and ``penalties_for``, and tests/test_conformance_losses.py
tests it. ``base`` holds what they share (see its docstring)."""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    HINGE_LOGIT,
    LOSSES,
    PENALTIES,
    PROBABILITY,
    AdversarialLoss,
    Critic,
    Images,
    Objective,
    Penalty,
    Phase,
    Readout,
    Scale,
    get_loss,
    penalties_for,
    pixel_mse,
    register_loss,
    register_penalty,
    roc_auc,
)
from .gradient_penalty import GradientPenalty  # public names defined in entry files
from .lsgan import LS_SCORE
from .r1 import R1
from .wgan_gp import CRITIC

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

# registry order: each entry's ``order``, then its name (module import order is alphabetical)
_ordered = sorted(LOSSES.items(), key=lambda kv: (type(kv[1]).order, kv[0]))
LOSSES.clear()
LOSSES.update(_ordered)
PENALTIES.sort(key=lambda cls: (cls.order, cls.__name__))


def names() -> list[str]:
    """The registered adversarial losses' names, in registry order (the CLI's ``--loss`` choices)."""
    return list(LOSSES)


def summaries() -> list[tuple[str, str]]:
    """(name, one-line summary) of every registered adversarial loss, in registry order."""
    return [(n, loss.summary) for n, loss in LOSSES.items()]


__all__ = [
    "CRITIC",
    "HINGE_LOGIT",
    "LOSSES",
    "LS_SCORE",
    "PENALTIES",
    "PROBABILITY",
    "R1",
    "AdversarialLoss",
    "Critic",
    "GradientPenalty",
    "Images",
    "Objective",
    "Penalty",
    "Phase",
    "Readout",
    "Scale",
    "get_loss",
    "names",
    "penalties_for",
    "pixel_mse",
    "register_loss",
    "register_penalty",
    "roc_auc",
    "summaries",
]
