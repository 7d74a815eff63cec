"""One conformance test over every family the registry finds: it builds, trains, samples, resumes
exactly and refuses bad data with one line. A new model file is tested here without editing a list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import drawlab
from conftest import resume_to, tiny_cfg, train, write_images
from drawlab.cli import main
from drawlab.models import REGISTRY
from test_training import assert_same_checkpoint

FAMILIES = sorted(REGISTRY)


@pytest.mark.parametrize("name", FAMILIES)
def test_family_trains_samples_and_resumes_exactly(name: str, tmp_path: Path) -> None:
    cfg = tiny_cfg("mnist-5k", name=name, ema_images=50, ema_rampup=0.5, log_every=1, checkpoint_every=2, steps=2)
    a, b = tmp_path / "a", tmp_path / "b"
    res, _ = train(cfg, a)
    assert res.step == 2
    drawer = drawlab.load(a)
    imgs = drawer.sample(6, seed=1)
    assert imgs.shape == (6, 28, 28) and imgs.dtype == np.uint8
    assert np.array_equal(imgs, drawer.sample(6, seed=1))
    from drawlab.explore import frames as fr
    from drawlab.serve import Explorer

    walk = fr.interpolation(drawer, 3, 4, 3)  # the walks and the explorer, for every family
    assert torch.equal(walk.images[0, 0], drawer.sample_tensor(seeds=[3])[0][0])
    view = Explorer([str(a)], k=2).view({"seed": "3", "snapshot": "0"})
    assert view.png[:4] == b"\x89PNG" and (view.d_value is not None) == REGISTRY[name].adversarial
    res, _ = resume_to(a, steps=4)
    assert res.step == 4
    cfg.steps = 4
    train(cfg, b)
    assert_same_checkpoint(a, b, 4)


@pytest.mark.parametrize("name", FAMILIES)
def test_family_refuses_bad_data_with_one_line(name: str, tmp_path: Path, forced_probe: str, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [(f"folder:{empty}", "no image files")]
    if REGISTRY[name].needs_labels:
        cases.append((f"folder:{write_images(tmp_path / 'flat', 8)}", "needs labelled data"))
    for spec, words in cases:
        assert (
            main(
                [
                    "train",
                    "--model",
                    name,
                    "--data",
                    spec,
                    "--steps",
                    "1",
                    "--no-progress",
                    "--out",
                    str(tmp_path / "run"),
                ]
            )
            == 2
        )
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
        assert not (tmp_path / "run").exists()


def test_config_with_an_unknown_key_is_refused(tmp_path: Path, capsys) -> None:
    import json

    cfg = tiny_cfg("mnist-5k", steps=1)
    train(cfg, tmp_path / "r")
    p = tmp_path / "r" / "config.json"
    d = json.loads(p.read_text())
    d["train"]["model"]["wieght_decay"] = 0.1
    p.write_text(json.dumps(d))
    assert main(["sample", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model.wieght_decay" in err
