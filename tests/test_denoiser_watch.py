"""The denoisers' verdicts: the EMA still warming up, and samples beyond the data's range (each branch forced)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import tiny_cfg, train
from drawlab.config import ModelConfig
from drawlab.latent import seeded_noise
from drawlab.models import build_family
from drawlab.records.verdicts import Kind
from drawlab.training.monitors import denoiser_watch
from drawlab.training.monitors.denoiser_watch import DenoiserWatch

SHAPE = (1, 8, 8)


def _held(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, *SHAPE, generator=g) * 2 - 1, torch.arange(n) % 3


def _flow(**kw):
    return build_family(ModelConfig(name="flow", width=8, **kw), SHAPE, 3)


def test_an_ema_that_lags_the_raw_network_is_said_and_a_copy_is_not() -> None:
    fam = _flow(ema_images=1000.0)
    watch = DenoiserWatch(_held())
    assert watch.check_ema(fam, 10) == []  # the EMA starts as a copy: the same loss
    torch.nn.init.normal_(fam.nets["G_ema"].out[-1].weight, std=1.0)  # an EMA far from what G answers
    (v,) = watch.check_ema(fam, 10)
    assert v.kind is Kind.EMA_LAG and "still warming up" in v.what and "--ema" in v.try_
    assert watch.check_ema(_flow(ema_images=0.0), 10) == []  # no EMA: nothing to lag


def test_samples_beyond_the_range_are_said_and_samples_within_it_are_not(monkeypatch) -> None:
    fam = _flow()
    z, y = seeded_noise(16, 64, seed=1), torch.arange(16) % 3
    watch = DenoiserWatch(_held())
    (v,) = watch.check_range(fam, z, y, 5)  # a zero-initialised flow leaves its N(0, 1) noise as it is
    assert v.kind is Kind.RANGE and "beyond +-1.1" in v.what
    share = float(v.what.split("%")[0].split()[-1]) / 100
    assert share == pytest.approx(float((z.abs() > 1.1).float().mean()), abs=0.01)
    monkeypatch.setattr(fam, "generate", lambda z, y, clamp=True: torch.zeros(len(z), *SHAPE))
    assert watch.check_range(fam, z, y, 5) == []


def _verdicts(run: Path) -> list[dict]:
    path = run / "monitor" / "verdicts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_a_run_records_the_denoisers_verdicts_and_the_report_shows_them(tmp_path: Path, monkeypatch) -> None:
    from drawlab.report import build_report

    monkeypatch.setattr(denoiser_watch, "EMA_LAG", 0.0)  # any EMA lags: the verdict's path end to end
    monkeypatch.setattr(denoiser_watch, "OVERSHOOT", -1.0)
    cfg = tiny_cfg("mnist-5k", name="flow", steps=3, ema_images=100.0)
    cfg.model.sample_steps = 2
    train(cfg, tmp_path / "flow")
    assert {v["kind"] for v in _verdicts(tmp_path / "flow")} == {"ema-lag", "range"}
    page = build_report(tmp_path / "flow", gallery=False).read_text()
    assert "EMA still warming up" in page and "output range wrong" in page and "Healthy" not in page

    gan = tiny_cfg("mnist-5k", name="cgan", steps=3, ema_images=100.0)  # not a denoiser: not watched
    train(gan, tmp_path / "cgan")
    assert not any(v["kind"] in ("ema-lag", "range") for v in _verdicts(tmp_path / "cgan"))


def test_a_denoiser_with_nothing_found_is_called_healthy_in_its_own_terms(tmp_path: Path, monkeypatch) -> None:
    from drawlab.report import build_report

    monkeypatch.setattr(denoiser_watch, "EMA_LAG", 1e9)
    monkeypatch.setattr(denoiser_watch, "OVERSHOOT", 1.0)
    cfg = tiny_cfg("mnist-5k", name="flow", steps=3, ema_images=100.0)
    cfg.model.sample_steps = 2
    train(cfg, tmp_path / "flow")
    assert _verdicts(tmp_path / "flow") == []
    page = build_report(tmp_path / "flow", gallery=False).read_text()
    assert "Healthy" in page and "the EMA kept up" in page and "D did not win" not in page
