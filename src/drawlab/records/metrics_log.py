"""``RUN/metrics.jsonl``: one JSON record per line, each with its ``step``, of one of four kinds.

    train    running means of the step metrics over a logging interval (``loss_g``, ``loss_d``, ``img_per_s``...)
    eval     the in-training evaluation (``"eval": true``; FID and its companions)
    monitor  a D snapshot (``"monitor": true``; ``d_auc`` and D's mean values on fixed images)
    event    something that happened to the run (``"event": NAME``), e.g. ``"nan-rollback"``

A resume trims the records after its checkpoint (``files.trim_jsonl``); readers skip a torn last line.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from enum import Enum
from typing import Any

NAN_ROLLBACK = "nan-rollback"  # an event: the run went back to a checkpoint after non-finite numbers


class RecordKind(Enum):
    TRAIN = "train"
    EVAL = "eval"
    MONITOR = "monitor"
    EVENT = "event"


def kind_of(rec: dict[str, Any]) -> RecordKind:
    """The kind of one record (see the module docstring)."""
    if rec.get("event"):
        return RecordKind.EVENT
    if rec.get("eval"):
        return RecordKind.EVAL
    if rec.get("monitor"):
        return RecordKind.MONITOR
    return RecordKind.TRAIN


def split(records: Iterable[dict[str, Any]]) -> dict[RecordKind, list[dict[str, Any]]]:
    """The records by kind, each list in file order."""
    out: dict[RecordKind, list[dict[str, Any]]] = {k: [] for k in RecordKind}
    for r in records:
        out[kind_of(r)].append(r)
    return out


def event_record(step: int, event: str, **fields: Any) -> dict[str, Any]:
    """An event record at ``step`` (e.g. ``NAN_ROLLBACK`` with at_step, to_step, why, lr_g, lr_d)."""
    return {"step": step, "event": event, "time": time.time(), **fields}
