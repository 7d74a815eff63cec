"""Readable output of an evaluation: the terminal table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .evaluate import KINDS


def fmt(v: float | None, spread: float | None = None) -> str:
    """A number with 3-4 significant digits, and '± spread' when there is one."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    text = f"{v:.0f}" if float(v).is_integer() and abs(v) >= 1 and spread is None else _num(v)
    if spread is not None and math.isfinite(spread):
        text += f" ± {spread:.2g}" if abs(spread) < 100 else f" ± {spread:.0f}"
    return text


def _num(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        return f"{v:.1f}"
    if a >= 0.01:
        return f"{v:.3f}" if a < 1 else f"{v:.2f}"
    return f"{v:.2e}"


def headline(rec: dict[str, Any]) -> str:
    p = rec["protocol"]
    fn = p["feature_net"]
    score = (
        f"held-out accuracy {100 * fn['heldout_accuracy']:.1f}%"
        if "heldout_accuracy" in fn
        else f"held-out reconstruction MSE {fn.get('heldout_mse', float('nan')):.4f}"
    )
    return (
        f"{rec['run']}: {rec['model']} step {rec['step']} on {rec['data_name']} | "
        f"{p['n']} samples vs {p['n']} real | feature net {fn['name']} ({score})"
    )


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
    legend = {"memorised": "  (top row: the samples nearest a training image; below each: that training image)"}
    for what, path in rec.get("files", {}).items():
        lines.append(f"{what}: {Path(rec['run']) / path}{legend.get(what, '')}")
    return "\n".join(lines)
