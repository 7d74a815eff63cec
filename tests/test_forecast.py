"""The forecast (training/forecast.py): known answers of the curve's reading, which runs a curve applies to,
every shipped curve still its preset's recipe, and the line a real run says."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from conftest import tiny_cfg, train
from drawlab.config import preset_config
from drawlab.training import forecast
from drawlab.training.forecast import Curve, curve_for, curves, forecast_line, recipe_id


def a_curve(preset: str = "mnist-cgan", batch: int = 32, milestone: tuple[int, str] | None = None) -> Curve:
    return Curve(
        preset, recipe_id(preset), batch, "mnist-5k", "fid5k-x@000000", 5.0, "a CPU", "2026-12-07",
        ((100, 40.0), (1000, 20.0), (10000, 10.0)), milestone,
    )  # fmt: skip


def test_the_curve_is_read_linearly_in_log_steps_and_held_flat_beyond_its_ends() -> None:
    c = a_curve()
    assert c.fid_at(100) == 40.0 and c.fid_at(1000) == 20.0
    assert c.fid_at(math.sqrt(100 * 1000)) == pytest.approx(30.0)  # half way in log(step)
    assert c.fid_at(3162.28) == pytest.approx(15.0, abs=1e-3)
    assert c.fid_at(10) == 40.0 and c.fid_at(1e6) == 10.0


def test_the_line_gives_steps_for_minutes_and_minutes_for_steps() -> None:
    by_minutes = forecast_line(10.0, 100, 290.0, None, None)
    assert "10.0 steps/s" in by_minutes and "about 3,000 steps in all" in by_minutes
    assert "no quality curve measured" in by_minutes
    by_steps = forecast_line(10.0, 100, None, 3100, None)
    assert "3,100 steps in about 5.0 more min" in by_steps


def test_with_a_curve_the_line_says_the_fid_those_steps_bought_and_when_the_milestone_comes() -> None:
    line = forecast_line(10.0, 0, 100.0, None, a_curve(milestone=(600, "digits read as asked")))
    assert "FID ~20 at that many steps" in line and "fid5k-x@000000; real data 5" in line
    assert "digits read as asked after ~600 steps (~1.0 min here)" in line
    past = forecast_line(10.0, 0, 2000.0, None, a_curve())
    assert "FID ~10 at 10,000 steps, the last measured" in past


def test_a_curve_applies_only_to_its_preset_unchanged_at_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    c = a_curve()
    monkeypatch.setattr(forecast, "curves", lambda: (c, dataclasses.replace(a_curve(), recipe="stale000")))
    cfg = preset_config("mnist-cgan")
    assert curve_for(cfg) is c
    assert curve_for(dataclasses.replace(cfg, batch_size=16)) is None  # sized down on a slow machine
    assert curve_for(dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, lr_g=1e-3))) is None
    assert curve_for(dataclasses.replace(cfg, preset=None)) is None
    monkeypatch.setattr(forecast, "curves", lambda: (dataclasses.replace(c, recipe="stale000"),))
    assert curve_for(cfg) is None  # the preset changed since its curve was measured


def test_every_shipped_curve_is_of_a_preset_as_it_is_today() -> None:
    shipped = curves()
    assert shipped, "curves.json ships no curve"
    for c in shipped:
        cfg = preset_config(c.preset)
        assert c.recipe == recipe_id(c.preset), f"{c.preset}: the preset changed since its curve: measure it again"
        assert c.batch in (cfg.fit_batch or [cfg.batch_size]), c
        steps = [s for s, _ in c.points]
        assert steps == sorted(set(steps)) and all(f > c.floor for _, f in c.points), c


def test_a_run_says_its_forecast_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, lines = train(tiny_cfg("mnist-5k", steps=6), tmp_path / "short")
    assert not [s for s in lines if s.startswith("forecast: ")], "a run of steps shorter than AFTER_S is silent"
    from drawlab.training.monitors import forecast as monitor

    monkeypatch.setattr(monitor, "AFTER_S", 0.0)
    _, lines = train(tiny_cfg("mnist-5k", steps=20, log_every=5), tmp_path / "r")
    said = [s for s in lines if s.startswith("forecast: ")]
    assert len(said) == 1 and "20 steps in about" in said[0], lines
    _, lines = train(tiny_cfg("mnist-5k", minutes=0.02), tmp_path / "m")
    said = [s for s in lines if s.startswith("forecast: ")]
    assert len(said) == 1 and "steps in all" in said[0], lines
