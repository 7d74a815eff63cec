"""One home for train/eval toggles (modes.py) and for uint8 -> [-1, 1] (data.batches.to_unit_range)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from drawlab.data.batches import to_unit_range
from drawlab.metrics.features import MAX_SIDE, _prepare
from drawlab.modes import evaluating, in_mode

SRC = Path(__file__).resolve().parents[1] / "src" / "drawlab"


def test_evaluating_gives_each_net_its_own_mode_back_even_when_the_block_raises() -> None:
    a, b = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    b.eval()
    with pytest.raises(RuntimeError), evaluating(a, b):
        assert not a.training and not b.training
        raise RuntimeError("stop")
    assert a.training and not b.training
    with in_mode(b, training=True):
        assert b.training
    assert not b.training


def test_every_uint8_value_reaches_the_feature_nets_as_training_sees_it() -> None:
    """The feature nets of the metrics read images exactly as the models were trained on them (bit for bit):
    ``x / 127.5 - 1`` differs from the two-step ``to_unit_range`` in the last bit for most of the 256 values."""
    x = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    assert x.shape[-1] <= MAX_SIDE
    assert torch.equal(_prepare(x), to_unit_range(x))


def test_no_module_converts_uint8_images_by_hand() -> None:
    """Every uint8 -> [-1, 1] goes through to_unit_range (images.to_uint8 is the way back)."""
    by_hand = re.compile(r"(/|\.div\()\s*127\.5")
    found = [
        f"{p.relative_to(SRC)}:{i}"
        for p in SRC.rglob("*.py")
        if p.name != "batches.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    assert found == []


def test_no_module_toggles_a_nets_mode_by_hand() -> None:
    """Saving ``net.training`` to put it back later is modes.in_mode's job (one place gets the finally right)."""
    by_hand = re.compile(r"\bwas\w*\b.*=.*\.training\b|\.train\(was")
    found = [
        f"{p.relative_to(SRC)}:{i}"
        for p in SRC.rglob("*.py")
        if p.name != "modes.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    assert found == []


def test_a_runs_data_is_found_where_asked_else_where_the_run_says_else_the_default(monkeypatch, tmp_path) -> None:
    """data.run_data is the one way evaluate, the report and the explorer open a run's real images."""
    from drawlab.config import DataConfig
    from drawlab.data import sources

    monkeypatch.setattr(sources, "open_configured", lambda dc, root: root)
    monkeypatch.setenv("DRAWLAB_DATA", str(tmp_path / "env"))
    assert sources.run_data(DataConfig(root=None)) == (str(tmp_path / "env"), tmp_path / "env")
    assert sources.run_data(DataConfig(root=str(tmp_path / "run")))[1] == tmp_path / "run"
    assert sources.run_data(DataConfig(root=str(tmp_path / "run")), tmp_path / "asked")[1] == tmp_path / "asked"
    users = [p.relative_to(SRC) for p in SRC.rglob("*.py") if "open_configured(cfg.data, str(root))" in p.read_text()]
    assert users == []
