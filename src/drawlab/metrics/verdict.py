"""What an evaluation finds wrong, as a verdict (``records/verdicts.py``): the run has *not learnt* its data.

The training loop's watchers see D winning, stuck losses, NaN and collapse; a run can pass all of them
and still draw nothing like its data (e.g. 824 steps of the faces recipe on 64x64 icons: checkerboard
blobs, recall 0.01). Measured against the real-data reference of the same evaluation (real set B
against A, ``evaluate.py``), so the rule needs no threshold per dataset. ``Kind.NOT_LEARNT`` when any of

    recall     < RATIO x real recall         the samples cover little of what real images cover
    precision  < RATIO x real precision      few samples fall where real images are
    cond. acc. < LABELS x real cond. acc.    (conditional runs) the asked class is mostly not drawn

with RATIO = 0.25 and LABELS = 0.5. On the 14 evaluated runs behind benchmarks/RESULTS.md's 2026-12-07
tables, those drawing recognisable images had recall >= 0.31 x real (faces-dcgan at 10 minutes) and
precision >= 0.70 x real; the icons at 5 minutes had recall 0.014 x real, a failed flow variant 0.06 x.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..records.verdicts import Kind, Verdict

RATIO = 0.25  # recall or precision under this share of the real data's: not learnt
LABELS = 0.5  # conditional accuracy under this share of real images': the label is not obeyed

_WHAT = {
    "recall": "the samples cover little of the data",
    "precision": "few samples look like the data",
    "cond-acc": "the samples are mostly not of the class asked for",
}


def _entry(rec: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((e for e in rec.get("metrics", {}).values() if e.get("kind") == kind), None)


def _short(rec: Mapping[str, Any], kind: str, ratio: float) -> str | None:
    """'recall 0.01 against the real data's 0.86' when the metric is under ``ratio`` x its reference."""
    e = _entry(rec, kind)
    if e is None or not isinstance(e.get("value"), (int, float)) or not isinstance(e.get("real"), (int, float)):
        return None
    if e["real"] <= 0 or e["value"] >= ratio * e["real"]:
        return None
    name = "conditional accuracy" if kind == "cond-acc" else kind
    return f"{name} {e['value']:.2f} against the real data's {e['real']:.2f} ({_WHAT[kind]})"


def not_learnt(rec: Mapping[str, Any]) -> Verdict | None:
    """The NOT_LEARNT verdict of one eval.json record (``evaluate.py``), or None when the run passes."""
    found = [s for k, r in (("recall", RATIO), ("precision", RATIO), ("cond-acc", LABELS)) if (s := _short(rec, k, r))]
    if not found:
        return None
    fid = _entry(rec, "fid")
    far = "" if fid is None else f"; FID {fid['value']:.1f}, the real data's {fid['real']:.2f}"
    step = int(rec["step"])
    return Verdict(
        Kind.NOT_LEARNT,
        step,
        step,
        f"at step {step:,} the run has not learnt its data: " + "; ".join(found) + far,
        "training longer (drawlab train --resume RUN --minutes M: its forecast line says what its preset's "
        "curve reached at that many steps); if a longer run stays here, another recipe (docs/getting-started.md)",
    )
