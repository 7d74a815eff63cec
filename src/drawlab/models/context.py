"""What the trainer tells a family about the run it trains in: one explicit object, given at construction.

A family reads it (and counts its steps in it); nothing else of a family is set from outside. Families
built for drawing (``RunDir.open_family``, ``sizing``) get the defaults: one process, no autocast.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch


@dataclass
class FamilyContext:
    """The run a family trains in.

    ``steps_per_epoch``: steps of one pass over the data (tricks counted in epochs need it);
    ``processes``: data-parallel processes sharing each batch (the EMA counts every row);
    ``autocast``: a factory of the context manager each forward runs under (mixed precision or none);
    ``ema_weight_on_device``: a device scalar holding the EMA weight of each replayed CUDA-graph step (None:
    computed on the host); ``steps_done``: optimisation steps taken so far (the family adds one per step;
    the trainer sets it when it restores a checkpoint).
    """

    steps_per_epoch: int = 1
    processes: int = 1
    autocast: Callable[[], AbstractContextManager] = nullcontext
    ema_weight_on_device: torch.Tensor | None = None
    steps_done: int = 0
