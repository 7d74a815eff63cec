"""eval.json, the record of `drawlab evaluate`: its format, how it is written and read, and how readers show it.

One file per run (RUN/eval.json, pictures under RUN/eval/)::

    {"format": "drawlab-eval-1", "run", "model", "conditional", "step", "checkpoint", "data_name",
     "data_fingerprint", "time", "protocol": {"n", "seed", "reference", "feature_net": {...}, ...},
     "metrics": {NAME: ENTRY, ...}, "notes": [...], "files": {"samples": "eval/samples.png", ...}, "seconds"}

NAME carries its protocol (``fid2.5k-mnist-5k-cnn@3fa9c1``: FID of 2,500 samples in that feature net); each
ENTRY holds ``kind`` (the metric's key), ``value``, ``spread``, ``real`` (the real-data reference),
``real_spread``, ``better``, ``spread_is``, ``description``, since this version also ``title`` and
``protocol`` ({n, features, split_seed}), and the metric's own extras. Readers (report, compare) need
only this module: the kinds of metric a file holds come from its entries (``kind_table``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import RunError
from ..files import atomic_write_json

EVAL_FORMAT = "drawlab-eval-1"
EVAL_JSON = "eval.json"
EVAL_DIR = "eval"  # eval/samples.png, eval/memorised.png

Better = Literal["lower", "higher", "closer"]  # 'closer': to the real-data reference
BETTER: tuple[Better, ...] = ("lower", "higher", "closer")


@dataclass(frozen=True)
class MetricKind:
    """What a reader needs of one kind of metric: its key, title, direction and what its ± and value mean."""

    key: str
    title: str
    better: Better
    spread: str  # what the ± is ('none' when there is none)
    description: str

    @classmethod
    def of_entry(cls, key: str, entry: Mapping[str, Any]) -> MetricKind:
        """The kind as an eval.json entry describes it (files before 'title' was written: the key)."""
        better = entry.get("better")
        return cls(
            key,
            str(entry.get("title") or key),
            better if better in BETTER else "lower",
            str(entry.get("spread_is") or "none"),
            str(entry.get("description") or ""),
        )


def kind_table(recs: Iterable[Mapping[str, Any]], known: Mapping[str, MetricKind]) -> dict[str, MetricKind]:
    """The kinds present in the records ``recs``: those in ``known`` first (its order, its texts), then the
    others in the order the files hold them, described by their own entries."""
    found: dict[str, MetricKind] = {}
    for rec in recs:
        for e in rec["metrics"].values():
            k = e.get("kind")
            if isinstance(k, str) and k not in found:
                found[k] = known.get(k) or MetricKind.of_entry(k, e)
    return {k: found[k] for k in [*(k for k in known if k in found), *(k for k in found if k not in known)]}


def _clean(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def entry(
    kind: MetricKind,
    value: float,
    spread: float | None,
    real: float | None,
    real_spread: float | None,
    protocol: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """One metric's entry in eval.json; non-finite numbers become null."""
    return {
        "kind": kind.key,
        "title": kind.title,
        "value": _clean(value),
        "spread": _clean(spread),
        "real": _clean(real),
        "real_spread": _clean(real_spread),
        "better": kind.better,
        "spread_is": kind.spread,
        "description": kind.description,
        "protocol": protocol,
        **extra,
    }


def write_eval(run_dir: str | Path, record: dict[str, Any], json_out: str | Path | None = None) -> Path:
    """Write RUN/eval.json (and a copy at ``json_out``) atomically; returns RUN/eval.json."""
    path = atomic_write_json(Path(run_dir) / EVAL_JSON, record)
    if json_out is not None:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out, record)
    return path


def _is_eval(d: Any) -> bool:
    return (
        isinstance(d, dict)
        and d.get("format") == EVAL_FORMAT
        and isinstance(d.get("metrics"), dict)
        and isinstance(d.get("protocol"), dict)
        and all(isinstance(e, dict) and "value" in e for e in d["metrics"].values())
    )


def read_eval(run_dir: str | Path) -> dict[str, Any]:
    """A run's eval.json; RunError with the command to run when there is none or it is damaged."""
    run = Path(run_dir)
    p = run / EVAL_JSON
    if not run.is_dir():
        raise RunError(f"run directory {run} does not exist")
    if not p.is_file():
        raise RunError(f"{run} has no {EVAL_JSON}: run drawlab evaluate {run} first")
    try:
        d = json.loads(p.read_text())
        if not _is_eval(d):
            raise ValueError("not a drawlab evaluation")
        return d
    except ValueError as e:
        raise RunError(f"{p} is damaged ({e}): run drawlab evaluate {run} again") from None


# -- how readers show it -------------------------------------------------------------------------


def fmt(v: float | None, spread: float | None = None) -> str:
    """A number with 3-4 significant digits, and '± spread' when there is one; '-' for none."""
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


def headline(rec: Mapping[str, Any]) -> str:
    """One line: the run, its model and step, n, and the feature net with its held-out score."""
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
