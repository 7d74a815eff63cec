"""A preset sized to the machine: the batch size that fits the minutes given, measured once, then fixed in
config.json."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from drawlab.cli import build_parser
from drawlab.cli_train import config_from_args
from drawlab.config import TrainConfig, preset_config
from drawlab.errors import ConfigError
from drawlab.training import Trainer, sizing


def test_fit_batch_takes_the_largest_batch_that_makes_enough_steps() -> None:
    cfg = TrainConfig(minutes=5.0, fit_batch=[128, 64], fit_min_steps=1100)
    asked: list[int] = []

    def slow(b: int) -> float:
        asked.append(b)
        return 0.37                      # 810 steps in 5 minutes
    assert sizing.fit_batch(cfg, slow)[0] == 64 and asked == [128]      # the last is taken unmeasured
    batch, info = sizing.fit_batch(cfg, lambda b: 0.2)                   # 1,500 steps
    assert batch == 128 and info["seconds_per_step"] == {128: 0.2} and info["chosen"] == 128


def test_seconds_per_step_measures_and_leaves_the_rng_alone() -> None:
    import torch
    cfg = preset_config("mnist-cgan")
    cfg.model.width, cfg.model.z_dim = 8, 8
    torch.manual_seed(3)
    before = torch.get_rng_state()
    s = sizing.seconds_per_step(cfg, (1, 28, 28), 10, 8, torch.device("cpu"), lambda: __import__("contextlib").nullcontext())
    assert s > 0 and torch.equal(torch.get_rng_state(), before)


def _tiny_preset(tmp_path: Path) -> TrainConfig:
    cfg = preset_config("mnist-cgan")
    cfg.model.width, cfg.model.z_dim = 8, 8
    cfg.data.spec, cfg.device, cfg.precision = "mnist-5k", "cpu", "fp32"
    cfg.minutes, cfg.fit_batch = 0.05, [32, 16]
    return cfg


def test_a_slow_machine_gets_the_smaller_batch_recorded_in_config_json(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sizing, "seconds_per_step", lambda *a: 1.0)    # 3 steps in 0.05 minutes: too few
    said: list[str] = []
    t = Trainer(_tiny_preset(tmp_path), tmp_path / "slow", progress=False, echo=said.append)
    assert t.cfg.batch_size == 16 and t.batches.batch_size == 16
    rec = json.loads((tmp_path / "slow" / "config.json").read_text())
    assert rec["train"]["batch_size"] == 16 and rec["train"]["fit_batch"] == []
    assert any("sized to this machine: batch 16" in s for s in said)
    monkeypatch.setattr(sizing, "seconds_per_step", lambda *a: 1e-4)   # fast: the preset's batch stands
    assert Trainer(_tiny_preset(tmp_path), tmp_path / "fast", progress=False, echo=said.append).cfg.batch_size == 32
    bad = _tiny_preset(tmp_path)
    bad.fit_batch = [32, 0]
    with pytest.raises(ConfigError, match="fit_batch"):
        Trainer(bad, tmp_path / "bad", progress=False, echo=said.append)


def test_only_the_presets_own_runs_are_sized() -> None:
    def args(*argv: str) -> argparse.Namespace:
        return build_parser().parse_args(["train", *argv])
    assert config_from_args(args()).fit_batch == [128, 64]
    assert config_from_args(args("--batch-size", "32")).fit_batch == []
    assert config_from_args(args("--model", "dcgan")).fit_batch == []
    assert config_from_args(args("--steps", "100")).fit_batch == []
