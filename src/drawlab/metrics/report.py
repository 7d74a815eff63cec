"""Readable output of an evaluation: the terminal table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records.evals import fmt, headline
from .registry import KINDS

__all__ = ["fmt", "headline", "table"]


def table(rec: dict[str, Any]) -> str:
    """The metrics as an aligned text table: name, value ± spread, real-data reference, direction."""
    rows = [("metric", "value", "real data", "better")]
    for name, e in rec["metrics"].items():
        better = e.get("better", KINDS[e["kind"]].better if e.get("kind") in KINDS else "")
        rows.append(
            (
                name,
                fmt(e["value"], e.get("spread")),
                fmt(e.get("real"), e.get("real_spread")),
                "closer to real" if better == "closer" else better,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [headline(rec)]
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w) if j < 3 else c for j, (c, w) in enumerate(zip(r, widths))
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for note in rec.get("notes", []):
        lines.append(f"note: {note}")
    for v in rec.get("verdicts", []):
        lines.append(f"verdict: {v['what']}: try {v['try']}")
    legend = {"memorised": "  (top row: the samples nearest a training image; below each: that training image)"}
    for what, path in rec.get("files", {}).items():
        lines.append(f"{what}: {Path(rec['run']) / path}{legend.get(what, '')}")
    return "\n".join(lines)
