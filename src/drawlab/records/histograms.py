"""``RUN/monitor/d_hist.npz``: D's histograms through training, one row per snapshot (the D monitor
writes it; the report and the figures read it).

Arrays: ``step``, ``epoch`` (E,); ``real_hist``, ``fake_hist`` (E, bins) (each row sums to 1: the share of
the images in each bin of D's values on the loss's scale); ``auc``, ``real_mean``, ``fake_mean`` (E,);
``edges`` (bins + 1,); ``scale`` (the Readout scale's name) and ``n`` (images per snapshot), scalars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write

FILE = "d_hist.npz"  # in RUN/monitor
FIELDS = ("step", "epoch", "real_hist", "fake_hist", "auc", "real_mean", "fake_mean")  # one row per snapshot


def load_history(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``d_hist.npz`` (see the module docstring), or None when there is none or it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        return d if all(k in d for k in FIELDS) else None
    except (OSError, ValueError, KeyError, EOFError):
        return None


def trimmed(h: dict[str, Any] | None, step: int, scale: str, edges: np.ndarray) -> dict[str, Any] | None:
    """The history up to ``step`` (a resume redoes the later steps); None if it was made on other bins."""
    if h is None or str(h["scale"]) != scale or h["edges"].shape != edges.shape:
        return None
    keep = h["step"] <= step
    return {k: (v[keep] if k in FIELDS else v) for k, v in h.items()} if keep.any() else None


def appended(h: dict[str, Any] | None, row: dict[str, Any], edges: np.ndarray, scale: str, n: int) -> dict[str, Any]:
    """``h`` with one more snapshot ``row`` (a value per FIELDS name); a new history when ``h`` is None."""
    one = {k: np.asarray(row[k])[None] for k in FIELDS}
    if h is None:
        return {**one, "edges": edges, "scale": np.array(scale), "n": np.array(n)}
    return {k: (np.concatenate([v, one[k]]) if k in FIELDS else v) for k, v in h.items()}


def save_history(path: Path, h: dict[str, Any]) -> None:
    """Write the history atomically (write kind ``monitor``)."""
    atomic_write(path, lambda tmp: np.savez(tmp, **h), "monitor")
