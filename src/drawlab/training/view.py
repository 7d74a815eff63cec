"""What an observer sees of a run: a narrow ``RunView``, never the trainer.

It shows where the run is (``step``, ``epoch``), what it trains (``family``, ``data``, ``cfg`` read-only,
``device``, the fixed grid noise), where it writes (``run``: the RunDir; ``logger``: metrics.jsonl and
TensorBoard) and how it speaks (``echo``: a line; ``verdict``: a finding, said and recorded). The trainer
keeps it current; an observer reads it and writes only through ``run``, ``logger``, ``echo`` and ``verdict``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import torch

from ..config import TrainConfig
from ..data import ImageDataset
from ..models import Family
from ..records import verdicts as verdicts_file
from ..records.verdicts import Verdict
from ..run import RunDir

if TYPE_CHECKING:
    from .logger import MetricsLogger


class ReadOnly:
    """An object's attributes to read (nested dataclasses read-only too), never to set."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Any):
        object.__setattr__(self, "_obj", obj)

    def __getattr__(self, name: str) -> Any:
        v = getattr(self._obj, name)
        return ReadOnly(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the run's config is read-only here: {name} cannot be set")

    def __repr__(self) -> str:
        return f"ReadOnly({self._obj!r})"


@dataclass
class Position:
    """Where a run is: ``step`` (optimisation steps done), ``elapsed`` (seconds spent stepping) and the
    NaN rollbacks so far (config.json's facts.nan_rollbacks)."""

    step: int = 0
    elapsed: float = 0.0
    rollbacks: list[dict[str, Any]] = field(default_factory=list)


class RunView:
    """One run as its observers see it (see the module docstring)."""

    def __init__(
        self,
        cfg: TrainConfig,
        family: Family,
        data: ImageDataset,
        run: RunDir,
        device: torch.device,
        position: Position,
        steps_per_epoch: int,
        target_steps: int | None,
        fixed: tuple[torch.Tensor, torch.Tensor],
        echo: Callable[[str], None],
    ):
        self.cfg = cast(TrainConfig, ReadOnly(cfg))
        self.family, self.data, self.run, self.device = family, data, run, device
        self.steps_per_epoch, self.target_steps = steps_per_epoch, target_steps
        self.fixed_z, self.fixed_y = fixed  # the grid's noise (n, z_dim) and labels (n,), on the device
        self.echo = echo
        self.logger: MetricsLogger | None = None  # while training (None before ``train`` starts)
        self._position = position

    @property
    def step(self) -> int:
        return self._position.step

    @property
    def elapsed(self) -> float:
        """Seconds spent stepping so far (resumes included, pauses excluded): what ``--minutes`` counts."""
        return self._position.elapsed

    @property
    def epoch(self) -> float:
        return self._position.step / self.steps_per_epoch

    @property
    def rollbacks(self) -> int:
        """How many NaN rollbacks this run has had (resumes included)."""
        return len(self._position.rollbacks)

    @property
    def log(self) -> MetricsLogger:
        """The logger of the training under way (an observer's hooks run only then)."""
        if self.logger is None:
            raise RuntimeError("the run is not training: there is no logger yet")
        return self.logger

    def verdicts(self) -> list[Verdict]:
        """The findings recorded in this run so far."""
        return verdicts_file.read(self.run.monitor / "verdicts.jsonl")

    def verdict(self, v: Verdict) -> None:
        """Say a finding as a warning and record it in the run (RUN/monitor/verdicts.jsonl)."""
        self.echo(f"drawlab: warning: {v.line()}")
        verdicts_file.record(self.run.monitor / "verdicts.jsonl", v)
