"""What a run will buy: the steps its minutes make (or the minutes its steps take) at the speed measured
here, read against the quality curve measured for its preset (``curves.json``, written by ``benchmarks/quality_curve.py --json``).

A curve is a preset's FID (in its data's feature net) at the snapshots of one measured run, against steps,
not minutes: steps carry over between machines, minutes do not. It applies to a run only while the run
trains that preset's recipe unchanged at the curve's batch (``recipe_id``: a changed preset must be measured
again; tests/test_forecast.py checks every shipped curve against today's presets).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..config import PRESETS, TrainConfig, preset_config

CURVES = Path(__file__).with_name("curves.json")
NOT_RECIPE = ("summary", "minutes", "fit_batch", "fit_min_steps", "device", "monitor_every")  # how long, not what


def recipe_id(preset: str) -> str:
    """8 hex digits of what a preset trains (its model, data shape, precision: not how long)."""
    recipe = {k: v for k, v in PRESETS[preset].items() if k not in NOT_RECIPE}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Curve:
    """One measured run of a preset: ``points`` are (step, FID) at its snapshots, steps rising."""

    preset: str
    recipe: str  # recipe_id when measured
    batch: int
    data: str  # what it was measured on, in words ("mnist-5k", "CelebA 10k")
    metric: str  # the FID's name, protocol included ("fid5k-mnist-5k-cnn@3fa9c1")
    floor: float  # the same metric between two real sets
    machine: str  # CPU (or GPU) and threads, in words
    date: str
    points: tuple[tuple[int, float], ...]
    milestone: tuple[int, str] | None = None  # (step, what is reached there, in words)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Curve:
        ms = d.get("milestone")
        return cls(
            d["preset"],
            d["recipe"],
            int(d["batch"]),
            d["data"],
            d["metric"],
            float(d["floor"]),
            d["machine"],
            d["date"],
            tuple((int(s), float(f)) for s, f in d["points"]),
            (int(ms["step"]), str(ms["words"])) if ms else None,
        )

    def fid_at(self, step: float) -> float:
        """The curve's FID at ``step``, linear in log(step) between measured points; the end points beyond."""
        pts = self.points
        if step <= pts[0][0]:
            return pts[0][1]
        for (s0, f0), (s1, f1) in zip(pts, pts[1:]):
            if step <= s1:
                w = (math.log(step) - math.log(s0)) / (math.log(s1) - math.log(s0))
                return f0 + w * (f1 - f0)
        return pts[-1][1]


@cache
def curves() -> tuple[Curve, ...]:
    """Every curve drawlab ships."""
    if not CURVES.exists():
        return ()
    return tuple(Curve.from_dict(d) for d in json.loads(CURVES.read_text())["curves"])


def curve_for(cfg: TrainConfig) -> Curve | None:
    """The shipped curve of the recipe ``cfg`` trains: its preset's, unchanged, at the curve's batch."""
    if cfg.preset not in PRESETS:
        return None
    run, ref = cfg.to_dict(), preset_config(cfg.preset).to_dict()  # to_dict: ``cfg`` may be a read-only view
    shape = ("size", "channels", "limit", "binarize", "fit")
    same = (
        run["model"] == ref["model"]
        and all(run["data"][k] == ref["data"][k] for k in shape)
        and run["precision"] == ref["precision"]
    )
    if not same:
        return None
    rid = recipe_id(cfg.preset)
    return next((c for c in curves() if c.preset == cfg.preset and c.recipe == rid and c.batch == cfg.batch_size), None)


def forecast_line(
    steps_per_s: float, steps_now: int, seconds_left: float | None, target: int | None, curve: Curve | None
) -> str:
    """One line at ``steps_per_s`` with ``steps_now`` done: a minutes-limited run (``seconds_left`` to go) the
    steps it will make, a steps-limited one (``target``) the minutes it will take; with a curve, the FID that
    many steps reached where the curve was measured, and its milestone."""
    if target is not None:
        total = float(target)
        left = max(target - steps_now, 0) / steps_per_s
        line = f"forecast: {steps_per_s:,.1f} steps/s here, so {target:,} steps in about {left / 60:.1f} more min"
    else:
        total = steps_now + max(seconds_left or 0.0, 0.0) * steps_per_s
        line = f"forecast: {steps_per_s:,.1f} steps/s here, so about {total:,.0f} steps in all"
    if curve is None:
        return line + " (no quality curve measured for this recipe and batch)"
    last = curve.points[-1][0]
    where = "at that many steps" if total <= last else f"at {last:,} steps, the last measured"
    line += (
        f"; {curve.preset} at batch {curve.batch} on {curve.data} ({curve.machine}, {curve.date}) reached FID "
        f"~{curve.fid_at(total):.3g} {where} ({curve.metric}; real data {curve.floor:.3g})"
    )
    if curve.milestone:
        step, words = curve.milestone
        line += f"; {words} after ~{step:,} steps (~{step / steps_per_s / 60:.1f} min here)"
    return line
