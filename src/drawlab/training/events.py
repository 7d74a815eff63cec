"""Observers: how monitors plug into the training loop without adding branches to it.

The Trainer calls every observer at a few events, in this order of a run's life::

    start       the run is built (or resumed) and about to train
    step        after each optimisation step (keep it cheap: most observers only count)
    log         a metrics.jsonl record was written (running means of the step metrics)
    grid        a fixed-noise sample grid was written (uint8 images and its path)
    checkpoint  a checkpoint was written
    epoch_end   the data has been seen once more
    finish      training stopped (done or interrupted); the last grid and checkpoint exist

Each hook receives the Trainer, which exposes ``step``, ``family``, ``run``, ``data``, ``cfg``,
``device``, ``logger`` and ``say`` (print a line and keep it in the log).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .trainer import Trainer, TrainResult


class Event(Enum):
    """The moments of a run an observer can watch; each calls ``Observer.on_<value>``."""

    START = "start"
    STEP = "step"
    LOG = "log"
    GRID = "grid"
    CHECKPOINT = "checkpoint"
    EPOCH_END = "epoch_end"
    FINISH = "finish"


class Observer:
    """Base class: every hook does nothing. One observer per file, one concern per observer."""

    def on_start(self, t: Trainer) -> None: ...
    def on_step(self, t: Trainer) -> None: ...
    def on_log(self, t: Trainer, rec: dict[str, Any]) -> None: ...
    def on_grid(self, t: Trainer, images: torch.Tensor, path: Path) -> None: ...
    def on_checkpoint(self, t: Trainer) -> None: ...
    def on_epoch_end(self, t: Trainer, epoch: int) -> None: ...
    def on_finish(self, t: Trainer, result: TrainResult) -> None: ...


class Observers:
    """The observers of one run, called in order at each event."""

    def __init__(self, observers: list[Observer]):
        self.items = list(observers)

    def emit(self, event: Event, t: Trainer, *args: Any) -> None:
        """Call each observer in turn; an event whose step a rollback undid (nan_guard.py) goes no further."""
        step = t.step
        for o in self.items:
            getattr(o, f"on_{event.value}")(t, *args)
            if t.step != step:
                break

    def find(self, cls: type) -> Any:
        """The first observer of type ``cls``, or None."""
        return next((o for o in self.items if isinstance(o, cls)), None)
