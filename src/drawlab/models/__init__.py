"""Model families, one file each, found through the registry (``drawlab models``).

Every module of this package is imported once, so a new file with a ``@register``ed family class is
found without editing any list; building blocks (nets, tricks, base) simply register nothing.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from .base import REGISTRY, Family, check_known, get_family
from .context import FamilyContext

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Family", "FamilyContext", "build_family", "get_family", "list_models"]


def list_models() -> list[tuple[str, str]]:
    """(name, one-line summary) of every registered model, in ladder order (each family's ``rung``)."""
    names = sorted(REGISTRY, key=lambda n: (REGISTRY[n].rung, n))
    return [(n, REGISTRY[n].summary) for n in names]


def build_family(cfg, shape: tuple[int, int, int], num_classes: int, context: FamilyContext | None = None) -> Family:
    """Instantiate the family named in ``cfg`` (a ModelConfig) for images of ``shape`` (C, H, W), in the run
    ``context`` describes (None: one process, no autocast, no step taken). A config that leaves the loss out
    (None) gets the family's own (``Family.default_loss``, else nonsaturating)."""
    cls = get_family(cfg.name)
    if cfg.loss is None:
        cfg = dataclasses.replace(cfg, loss=cls.default_loss or "nonsaturating")
    check_known(cfg)
    return cls(cfg, shape, num_classes, context)
