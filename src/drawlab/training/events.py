"""Observers: how monitors plug into the training loop without adding branches to it.

The loop calls every observer at a few events, in this order of a run's life::

    start       the run is built (or resumed) and about to train
    step        after each optimisation step (keep it cheap: most observers only count)
    log         a metrics.jsonl record was written (running means of the step metrics)
    grid        a fixed-noise sample grid was written (uint8 images and its path)
    saving      a checkpoint is about to be written
    checkpoint  a checkpoint was written
    epoch_end   the data has been seen once more
    finish      training stopped (done or interrupted); the last grid and checkpoint exist

Each hook receives the run's ``RunView`` (view.py), never the trainer. An observer that finds the run
must go back to its newest checkpoint raises ``Rollback``: the event goes no further (the observers after
it are not called) and the loop carries the rollback out. Nothing else stops an event.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..records.verdicts import Kind, Verdict

if TYPE_CHECKING:
    from .trainer import TrainResult
    from .view import RunView


class Event(Enum):
    """The moments of a run an observer can watch; each calls ``Observer.on_<value>``."""

    START = "start"
    STEP = "step"
    LOG = "log"
    GRID = "grid"
    SAVING = "saving"
    CHECKPOINT = "checkpoint"
    EPOCH_END = "epoch_end"
    FINISH = "finish"


class Rollback(Exception):
    """An observer's decision: back to the newest checkpoint, the learning rates times ``lr_factor``,
    because of ``what`` (non-finite numbers, in words; ``try_``: what to try if it happens again). The
    training loop carries it out and records ``verdict``."""

    def __init__(self, what: str, lr_factor: float, try_: str):
        super().__init__(what)
        self.what, self.lr_factor, self.try_ = what, lr_factor, try_

    def verdict(self, at_step: int, to_step: int | None) -> Verdict:
        """The finding of the rollback carried out: at ``to_step``, where the run goes on from (None: there
        was no checkpoint to go back to, and the run stops at ``at_step``)."""
        if to_step is None:
            what = f"{self.what}: training diverged at step {at_step:,}, before its first checkpoint"
            return Verdict(Kind.NAN, at_step, at_step, what, self.try_)
        what = (
            f"{self.what}: training diverged at step {at_step:,} and went back to step {to_step:,} with the "
            f"learning rates x{self.lr_factor:g}"
        )
        return Verdict(Kind.NAN, to_step, to_step, what, self.try_)


class Observer:
    """Base class: every hook does nothing. One observer per file, one concern per observer.

    A monitor (training/monitors/) is an Observer subclass with a ``name``, an ``order`` (lower is called
    first at each event) and ``build(view)``, which returns the monitor for the run the view shows, or None
    where it does not apply.
    """

    name: ClassVar[str] = ""
    order: ClassVar[int] = 50

    @classmethod
    def build(cls, view: RunView) -> Observer | None:
        """This monitor for the run ``view`` shows, or None where it does not apply."""
        return None

    def on_start(self, view: RunView) -> None: ...
    def on_step(self, view: RunView) -> None: ...
    def on_log(self, view: RunView, rec: dict[str, Any]) -> None: ...
    def on_grid(self, view: RunView, images: torch.Tensor, path: Path) -> None: ...
    def on_saving(self, view: RunView) -> None: ...
    def on_checkpoint(self, view: RunView) -> None: ...
    def on_epoch_end(self, view: RunView, epoch: int) -> None: ...
    def on_finish(self, view: RunView, result: TrainResult) -> None: ...


class Observers:
    """The observers of one run, called in order at each event."""

    def __init__(self, observers: list[Observer]):
        self.items = list(observers)

    def emit(self, event: Event, view: RunView, *args: Any) -> None:
        """Call each observer in turn (a ``Rollback`` raised by one propagates to the loop)."""
        for o in self.items:
            getattr(o, f"on_{event.value}")(view, *args)

    def find(self, cls: type) -> Any:
        """The first observer of type ``cls``, or None."""
        return next((o for o in self.items if isinstance(o, cls)), None)
