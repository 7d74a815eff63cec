"""The article's first rung: the data options (first N images, binarised), random label pairing, and the
preset that replays it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import TINY
from drawlab.cli import main
from drawlab.config import DataConfig, ModelConfig, preset_config
from drawlab.data import open_configured
from drawlab.models import build_family


def test_limit_and_binarize() -> None:
    full = open_configured(DataConfig(spec="mnist-5k", size=16))
    ds = open_configured(DataConfig(spec="mnist-5k", size=16, limit=100, binarize=True))
    assert ds.images.shape == (100, 1, 16, 16) and len(ds.labels) == 100
    assert set(ds.images.unique().tolist()) == {0, 255}
    idx = torch.randperm(5000, generator=torch.Generator().manual_seed(0))[:100].sort().values
    assert torch.equal(ds.images, (full.images[idx] >= 128).to(torch.uint8) * 255)
    assert torch.equal(ds.labels, full.labels[idx])
    assert len(ds.labels.unique()) == 10  # not the first 100 of a class-sorted source
    assert ds.fingerprint != full.fingerprint and "binarised" in ds.name


def test_random_pairing_gives_g_random_labels_and_true_its_own() -> None:
    y = torch.arange(64) % 10
    rnd = build_family(ModelConfig(name="mlp-mse", z_dim=8, pair_labels="random"), (1, 16, 16), 10)
    true = build_family(ModelConfig(name="mlp-mse", z_dim=8), (1, 16, 16), 10)
    assert torch.equal(true.pairing(y, torch.Generator().manual_seed(0)), y)
    p = rnd.pairing(y, torch.Generator().manual_seed(0))
    assert p.shape == y.shape and (p != y).float().mean() > 0.7
    assert torch.equal(p, rnd.pairing(y, torch.Generator().manual_seed(0)))  # from the run's generator


def test_article_preset_is_the_article() -> None:
    cfg = preset_config("article-mlp")
    m, d = cfg.model, cfg.data
    assert (m.name, m.z_dim, m.lr_g, m.pair_labels) == ("mlp-mse", 100, 2e-4, "random")
    assert (d.size, d.binarize, d.limit) == (16, True, 1000)
    fam = build_family(m, (1, 16, 16), 10)
    linears = [mod for mod in fam.nets["G"].modules() if isinstance(mod, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [256, 512, 256]  # 256, 512, then the 16x16 image


@pytest.mark.parametrize(
    "args, words",
    [
        (["--model", "dcgan", "--pair-labels", "random"], "use it with conv-mse, mlp-mse, not dcgan"),
        (["--model", "mlp-mse", "--limit", "0"], "--limit: must be in [1,"),
    ],
)
def test_bad_article_options(args: list[str], words: str, tmp_path: Path, capsys) -> None:
    assert main(["train", *TINY, "--data", "mnist-5k", "--steps", "1", *args, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "r").exists()
