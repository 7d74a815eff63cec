"""Non-finite numbers: caught at each log record and before each checkpoint, then rolled back or stopped.

``--on-nan rollback`` (default): the guard raises ``Rollback`` and the loop reloads the newest checkpoint
(never a non-finite one: the guard checks before each is written), multiplies both learning rates by
``LR_FACTOR`` (kept in config.json and said in metrics.jsonl) and records a "training diverged" verdict;
after ``MAX_ROLLBACKS`` rollbacks, or with ``--on-nan stop``, the run stops with one line (exit code 3),
the verdict recorded and its checkpoints standing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from ...errors import NumericsError
from ...records.verdicts import Kind, Verdict
from ..events import Observer, Rollback
from ..view import RunView
from . import register

MAX_ROLLBACKS = 3
LR_FACTOR = 0.5
TRY = "lower the learning rates (--lr-g/--lr-d), or try --loss hinge or --spectral-norm d"


def non_finite_losses(rec: dict[str, Any]) -> list[str]:
    """Names of the record's numbers that are NaN or infinite."""
    return [k for k, v in rec.items() if isinstance(v, float) and not math.isfinite(v)]


def non_finite_weights(nets: dict[str, torch.nn.Module]) -> list[str]:
    """Names of the networks holding a NaN or infinite parameter or buffer."""
    bad = []
    for name, net in nets.items():
        tensors = [*net.parameters(), *net.buffers()]
        if any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in tensors):
            bad.append(name)
    return bad


@register
class NanGuard(Observer):
    """Checks every log record, and the weights at each grid, epoch's end and before each checkpoint."""

    name = "nan-guard"
    order = 0  # first: a rollback precedes what others make of NaN

    def __init__(self, policy: str = "rollback", max_rollbacks: int = MAX_ROLLBACKS):
        self.policy, self.max_rollbacks = policy, max_rollbacks

    @classmethod
    def build(cls, view: RunView) -> NanGuard:
        return cls(view.cfg.on_nan)

    def on_log(self, view: RunView, rec: dict[str, Any]) -> None:
        bad = non_finite_losses(rec)
        if bad:
            self.trip(view, f"{', '.join(bad)} became {rec[bad[0]]} by step {view.step}")

    def on_grid(self, view: RunView, images: torch.Tensor, path: Path) -> None:
        self.check_weights(view)  # before the watchdog (a later observer) judges a grid of NaN

    def on_saving(self, view: RunView) -> None:
        self.check_weights(view)  # never a checkpoint with NaN in it

    def on_epoch_end(self, view: RunView, epoch: int) -> None:
        self.check_weights(view)  # before the D monitor (a later observer) measures with them

    def check_weights(self, view: RunView) -> None:
        """Trips (see ``trip``) when a weight is not finite."""
        bad = non_finite_weights(view.family.nets)
        if bad:
            self.trip(view, f"non-finite weights in {', '.join(bad)} at step {view.step}")

    def trip(self, view: RunView, what: str) -> None:
        """Raise the decision: ``Rollback`` while rollbacks are allowed, else NumericsError (exit 3) after
        recording the verdict."""
        done = view.rollbacks
        if self.policy != "stop" and done < self.max_rollbacks:
            raise Rollback(what, LR_FACTOR, f"if it diverges again, {TRY}")
        reason = "--on-nan stop" if self.policy == "stop" else f"after {done} rollbacks"
        view.verdict(Verdict(Kind.NAN, view.step, view.step, f"{what}: training diverged and stopped ({reason})", TRY))
        raise NumericsError(
            f"training diverged: {what}; stopped ({reason}); the checkpoints written stand: "
            "lower the learning rates (--lr-g/--lr-d), or try --loss hinge or --spectral-norm d"
        )
