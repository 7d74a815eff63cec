"""The monitors of a training run, one file each, found through the registry.

Every module of this package is imported once, so a new file with a ``@register``ed Observer subclass
(events.py) is found without editing any list. A monitor declares its ``name``, its ``order`` (lower runs
first at each event: NanGuard first, so a rollback precedes what others make of NaN; Pictures last) and
``build(view)``: the monitor for the run the view shows, or None where it does not apply.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ..events import Observer

if TYPE_CHECKING:
    from ..view import RunView

MONITORS: dict[str, type[Observer]] = {}


def register(cls: type[Observer]) -> type[Observer]:
    """Class decorator: make a monitor known under ``cls.name``."""
    if not cls.name or cls.name in MONITORS:
        raise ValueError(f"monitor {cls.__name__} needs a name of its own, got {cls.name!r}")
    MONITORS[cls.name] = cls
    return cls


def in_order() -> list[type[Observer]]:
    """The registered monitors in the order they are called at each event."""
    return sorted(MONITORS.values(), key=lambda c: (c.order, c.name))


def build_monitors(view: RunView) -> list[Observer]:
    """The monitors that apply to the run ``view`` shows, in order."""
    built = (cls.build(view) for cls in in_order())
    return [m for m in built if m is not None]


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["MONITORS", "build_monitors", "in_order", "register"]
