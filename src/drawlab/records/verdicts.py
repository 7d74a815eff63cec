"""Verdicts: what went wrong in a run, since when, and what to try, in words.

The training loop's watchers and `drawlab evaluate` (``metrics/verdict.py``) record them in
``RUN/monitor/verdicts.jsonl`` (one JSON line each, at the step they were found); ``drawlab report``
opens with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ..files import append_jsonl, read_jsonl


class Kind(Enum):
    """The problems a run can be found to have."""

    D_WINS = "d-wins"  # D separates real from generated outright: G gets little gradient
    FROZEN = "frozen"  # G's loss has not moved: training is stuck
    NAN = "nan"  # a loss is not finite: training diverged
    COLLAPSE = "collapse"  # different noise gives alike images: mode collapse
    NO_PROGRESS = "no-progress"  # the in-training FID has stopped improving
    EMA_LAG = "ema-lag"  # the denoisers: the EMA weights are still far behind the raw network
    RANGE = "range"  # the denoisers: the sampler's output overshoots the data's range
    NOT_LEARNT = "not-learnt"  # `drawlab evaluate`: the samples are far from the data (recall, precision, labels)

    @property
    def title(self) -> str:
        return {
            "d-wins": "D has won",
            "frozen": "training is stuck",
            "nan": "training diverged",
            "collapse": "mode collapse",
            "no-progress": "no progress",
            "ema-lag": "EMA still warming up",
            "range": "output range wrong",
            "not-learnt": "not learnt yet",
        }[self.value]


@dataclass(frozen=True)
class Verdict:
    """One finding: ``kind`` at ``step`` (true ``since`` an earlier step), ``what`` happened and what to ``try_``."""

    kind: Kind
    step: int
    since: int
    what: str
    try_: str

    def line(self) -> str:
        """The finding as one sentence: what happened, since when, and what to try."""
        return f"{self.what}: try {self.try_}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["try"] = d.pop("try_")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        return cls(Kind(d["kind"]), int(d["step"]), int(d.get("since", d["step"])), str(d["what"]), str(d["try"]))


def record(path: Path, verdict: Verdict) -> None:
    """Append ``verdict`` to the run's verdicts file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    append_jsonl(path, verdict.to_dict())


def read(path: Path) -> list[Verdict]:
    """The verdicts recorded in ``path`` (none when it does not exist; damaged lines skipped), in step order."""
    out = []
    for d in read_jsonl(path):
        try:
            out.append(Verdict.from_dict(d))
        except (KeyError, ValueError, TypeError):
            continue
    return sorted(out, key=lambda v: v.step)


def healthy_line(steps: int, adversarial: bool = True) -> str:
    """The one line a run with no verdicts gets (what was checked depends on the family)."""
    checked = (
        "D did not win, the losses moved and stayed finite, the samples stayed diverse"
        if adversarial
        else "the losses stayed finite; for flow and ddpm: the EMA kept up, the samples stayed in range"
    )
    return f"Healthy: no problem found in {steps:,} steps ({checked})."


def kinds(verdicts: Iterable[Verdict]) -> set[Kind]:
    return {v.kind for v in verdicts}
