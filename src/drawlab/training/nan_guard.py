"""Non-finite numbers: caught at each log record and before each checkpoint, then rolled back or stopped.

``--on-nan rollback`` (default): reload the newest checkpoint (never a non-finite one: ``save`` checks
first), multiply both learning rates by ``LR_FACTOR`` (kept in config.json and said in metrics.jsonl),
and continue from there; after ``MAX_ROLLBACKS`` rollbacks, or with ``--on-nan stop``, the run stops
with one line (exit code 3) and its checkpoints stand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import NumericsError
from .events import Observer

if TYPE_CHECKING:
    from .trainer import Trainer

ON_NAN = ("rollback", "stop")
MAX_ROLLBACKS = 3
LR_FACTOR = 0.5


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


class NanGuard(Observer):
    """Checks every log record, and the weights at each grid and epoch's end; the trainer asks
    ``check_weights`` before writing a checkpoint."""

    def __init__(self, policy: str = "rollback", max_rollbacks: int = MAX_ROLLBACKS):
        self.policy, self.max_rollbacks = policy, max_rollbacks

    def on_log(self, t: Trainer, rec: dict[str, Any]) -> None:
        bad = non_finite_losses(rec)
        if bad:
            self.trip(t, f"{', '.join(bad)} became {rec[bad[0]]} by step {t.step}")

    def on_grid(self, t: Trainer, images: torch.Tensor, path: Path) -> None:
        self.check_weights(t)  # before the watchdog (a later observer) judges a grid of NaN

    def on_epoch_end(self, t: Trainer, epoch: int) -> None:
        self.check_weights(t)  # before the D monitor (a later observer) measures with them

    def check_weights(self, t: Trainer) -> bool:
        """True when the weights are finite; otherwise trips (rolls back or raises) and returns False."""
        bad = non_finite_weights(t.family.nets)
        if bad:
            self.trip(t, f"non-finite weights in {', '.join(bad)} at step {t.step}")
        return not bad

    def trip(self, t: Trainer, what: str) -> None:
        done = len(t.rollbacks)
        if self.policy == "stop" or done >= self.max_rollbacks:
            reason = "--on-nan stop" if self.policy == "stop" else f"after {done} rollbacks"
            raise NumericsError(
                f"training diverged: {what}; stopped ({reason}); the checkpoints written stand: "
                "lower the learning rates (--lr-g/--lr-d), or try --loss hinge or --spectral-norm d"
            )
        t.rollback(what, LR_FACTOR)
