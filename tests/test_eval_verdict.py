"""The verdict `drawlab evaluate` draws from its own numbers (metrics/verdict.py): known answers on records."""

from __future__ import annotations

from typing import Any

import pytest

from drawlab.metrics.verdict import LABELS, RATIO, not_learnt
from drawlab.records.verdicts import Kind


def rec(recall: float = 0.8, precision: float = 0.8, cond_acc: float | None = None, real: float = 0.8) -> dict:
    metrics: dict[str, Any] = {
        "fid500-x": {"kind": "fid", "value": 77.1, "real": 7.51},
        "recall500-x": {"kind": "recall", "value": recall, "real": real},
        "precision500-x": {"kind": "precision", "value": precision, "real": real},
    }
    if cond_acc is not None:
        metrics["cond-acc500-x"] = {"kind": "cond-acc", "value": cond_acc, "real": 0.9}
    return {"step": 824, "metrics": metrics}


def test_a_run_near_its_real_reference_passes() -> None:
    assert not_learnt(rec()) is None
    assert not_learnt(rec(recall=RATIO * 0.8, precision=RATIO * 0.8, cond_acc=LABELS * 0.9)) is None  # at the line


@pytest.mark.parametrize(
    ("kw", "said"),
    [
        ({"recall": 0.01}, "recall 0.01 against the real data's 0.80 (the samples cover little of the data)"),
        ({"precision": 0.19}, "precision 0.19 against the real data's 0.80 (few samples look like the data)"),
        ({"cond_acc": 0.44}, "conditional accuracy 0.44 against the real data's 0.90"),
    ],
)
def test_each_shortfall_is_named(kw: dict, said: str) -> None:
    v = not_learnt(rec(**kw))
    assert v is not None and v.kind is Kind.NOT_LEARNT and v.step == v.since == 824
    assert said in v.what and "FID 77.1, the real data's 7.51" in v.what and "--resume" in v.try_
    assert Kind.NOT_LEARNT.title == "not learnt yet"


def test_every_shortfall_is_said_in_the_one_verdict() -> None:
    v = not_learnt(rec(recall=0.01, precision=0.1))
    assert v is not None and "recall 0.01" in v.what and "precision 0.10" in v.what


def test_missing_or_unmeasured_references_say_nothing() -> None:
    assert not_learnt({"step": 3, "metrics": {}}) is None
    assert not_learnt(rec(recall=0.0, real=0.0)) is None  # no real reference to be short of
    r = rec(recall=0.01)
    r["metrics"]["recall500-x"]["real"] = None
    assert not_learnt(r) is None
