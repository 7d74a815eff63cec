"""Handing a model on: `drawlab export RUN DIR` writes config.json + model.safetensors (the sampling network
only) + a model card + samples.png; everything that samples takes DIR and draws the run's pixels; the
pretrained models that ship inside the package sample offline and are read-only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

import drawlab
from conftest import tiny_cfg, train
from drawlab.cli import main
from drawlab.export import model_card
from drawlab.run import RunDir, pretrained_names

SEEDS = [0, 3, 17, 42]


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flow") / "r"
    cfg = tiny_cfg("mnist-5k", name="flow", steps=3, ema_images=64)
    cfg.model.sample_steps = 2
    train(cfg, out)
    return out


@pytest.mark.parametrize("which", ["cgan", "flow"])
def test_export_then_load_draws_the_same_pixels(which: str, cgan_run: Path, flow_run: Path, tmp_path: Path) -> None:
    run = cgan_run if which == "cgan" else flow_run
    out = tmp_path / "exported"
    assert main(["export", str(run), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert {k.split(".")[0] for k in f.keys()} == {"G_ema"}  # the sampling network only: no D, no raw G
        assert f.metadata()["format"] == "drawlab-export-1"
    exported = json.loads((out / "config.json").read_text())["export"]
    assert exported["net"] == "G_ema" and exported["step"] == RunDir(run).latest_checkpoint().step
    a, b = drawlab.load(run), drawlab.load(out)
    assert np.array_equal(a.sample(seeds=SEEDS), b.sample(seeds=SEEDS))
    assert np.array_equal(a.sample(8, seed=5), b.sample(8, seed=5))
    grid = np.asarray(Image.open(out / "samples.png"))
    from drawlab.images import grid_array

    assert np.array_equal(grid, grid_array(b.sample_tensor(seeds=list(range(64)))[0], nrow=8))


@pytest.mark.parametrize("which", ["cgan", "flow"])
def test_onnx_export_matches_torch(which: str, cgan_run: Path, flow_run: Path, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in the test extras: pip install -e .[test]")
    run = cgan_run if which == "cgan" else flow_run
    out = tmp_path / "m"
    assert main(["export", str(run), str(out), "--onnx"]) == 0
    said = json.loads((out / "config.json").read_text())["export"]["onnx"]
    assert said["max_abs_diff"] < 1e-4
    d = drawlab.load(out)
    net = d.family.sampler().eval()
    g = torch.Generator().manual_seed(7)
    y = torch.tensor([1, 4, 9])
    if which == "cgan":
        feeds = {"z": torch.randn(3, d.z_dim, generator=g), "label": y}
        with torch.no_grad():
            want = net(feeds["z"], y)
    else:
        feeds = {"x": torch.randn(3, *d.shape, generator=g), "t": torch.rand(3, generator=g), "label": y}
        with torch.no_grad():
            want = net(feeds["x"], feeds["t"], y)
    assert said["inputs"] == list(feeds)
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})[0]  # batch 3: the batch is dynamic
    assert got.shape == tuple(want.shape) and float(np.abs(got - want.numpy()).max()) < 1e-4


def test_the_cli_samples_and_interpolates_an_exported_folder(cgan_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m"
    assert main(["export", str(cgan_run), str(out), "--command", "drawlab train --preset mnist-cgan"]) == 0
    for src, png in ((cgan_run, "run.png"), (out, "exp.png")):
        assert main(["sample", str(src), "--seeds", "1,2,3", "--out", str(tmp_path / png)]) == 0
    assert (tmp_path / "run.png").read_bytes() == (tmp_path / "exp.png").read_bytes()
    assert main(["interpolate", str(out), "--from", "1", "--to", "2", "--out", str(tmp_path / "walk.gif")]) == 0
    assert "`drawlab train --preset mnist-cgan`" in (out / "README.md").read_text()
    capsys.readouterr()
    assert main(["inspect", str(out), "--saliency", "--seed", "3", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "holds only its generator" in err and len(err.strip().splitlines()) == 1


def test_the_explorer_serves_an_exported_folder_without_d(cgan_run: Path, tmp_path: Path) -> None:
    from drawlab.serve import Explorer

    out = tmp_path / "m"
    assert main(["export", str(cgan_run), str(out)]) == 0
    ran, exported = Explorer([str(cgan_run)], k=2), Explorer([str(out)], k=2)
    a, b = ran.view({"seed": "3", "label": "5"}), exported.view({"seed": "3", "label": "5"})
    assert a.png == b.png and a.d_value is not None and b.d_value is None and b.saliency_png is None
    assert exported.info()["runs"][0]["has_d"] is False


@pytest.mark.parametrize(
    "argv, words",
    [
        (["export", "missing-run", "OUT"], "does not exist"),
        (["export", "RUN", "FULL"], "not an empty folder"),
        (["export", "RUN", "OUT", "--checkpoint", "999"], "no checkpoint '999'"),
        (["sample", "EXPORTED", "--checkpoint", "2", "--out", "x.png"], "drop --checkpoint"),
    ],
)
def test_bad_exports_are_one_line_exit_2(argv, words, cgan_run: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FULL").mkdir()
    (tmp_path / "FULL" / "x").write_text("mine")
    assert main(["export", str(cgan_run), "EXPORTED"]) == 0
    capsys.readouterr()
    argv = [str(cgan_run) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (tmp_path / "FULL" / "x").read_text() == "mine"


def test_the_model_card_states_data_licence_training_and_evaluation() -> None:
    from drawlab.config import preset_config

    cfg = preset_config("mnist-cgan")
    facts = {"shape": [1, 28, 28], "data_name": "mnist", "data_size": 60000, "data_fingerprint": "abc123",
             "num_classes": 10, "conditional": True, "machine": "AMD EPYC, 2 cores", "precision": {"value": "bf16"}}  # fmt: skip
    export = {"net": "G_ema", "step": 7000, "parameters": 797457, "training_seconds": 300.0, "exported": "2026-12-04"}
    ev = {"step": 7000, "protocol": {"n": 2500}, "metrics": {"fid2.5k-mnist-cnn@x": {"value": 12.4, "real": 5.9, "better": "lower"}}}  # fmt: skip
    card = model_card(cfg, facts, export, ev, "drawlab train --preset mnist-cgan", "m")
    for words in ("797,457 parameters", "fingerprint `abc123`", "CC BY-SA 3.0", "5.0 minutes of training",
                  "AMD EPYC, 2 cores", "| `fid2.5k-mnist-cnn@x` | 12.40 | 5.90 | lower |", "Intended use"):  # fmt: skip
        assert words in card, words
    assert "Not evaluated" in model_card(cfg, facts, export, None, "c", "m")
    faces = model_card(cfg, {**facts, "data_name": "folder:celeba-10k"}, export, None, "c", "m")
    assert "non-commercial research" in faces


# -- the pretrained models in the package ---------------------------------------------------------------
def test_pretrained_models_sample_offline_as_their_pictures_say(tmp_path: Path, capsys) -> None:
    names = pretrained_names()
    assert "mnist-cgan" in names
    assert main(["pretrained"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in listed] == [f"pretrained:{n}" for n in names]
    for name in names:
        d = drawlab.load(f"pretrained:{name}")
        shipped = np.asarray(Image.open(RunDir(f"pretrained:{name}").path / "samples.png"))
        from drawlab.images import grid_array

        drawn = grid_array(d.sample_tensor(seeds=list(range(64)))[0], nrow=8).astype(int)
        off = np.abs(drawn - shipped.astype(int)) > 2  # another CPU may round the last bits otherwise
        assert drawn.shape == shipped.shape and off.mean() < 1e-3, (name, off.mean())
    assert main(["sample", "pretrained:mnist-cgan", "--n", "16", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").stat().st_size > 0


@pytest.mark.parametrize(
    "argv, words",
    [
        (["sample", "pretrained:nope", "--out", "x.png"], "no pretrained model 'nope'"),
        (["sample", "pretrained:mnist-cgan"], "read-only: give --out FILE"),
        (["evaluate", "pretrained:mnist-cgan"], "export it first"),
    ],
)
def test_pretrained_refusals_are_one_line(argv, words, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_seeds_take_ranges_as_the_cards_write_them(cgan_run: Path, tmp_path: Path, capsys) -> None:
    from drawlab.cli_args import parse_ints

    assert parse_ints("0-3,7", "--seeds") == [0, 1, 2, 3, 7]
    assert main(["sample", str(cgan_run), "--seeds", "0-63", "--out", str(tmp_path / "a.npz")]) == 0
    assert len(np.load(tmp_path / "a.npz")["images"]) == 64
    for bad, words in (("5-2", "a range goes up"), ("1-x", "or a range, e.g. 0-63")):
        capsys.readouterr()
        assert main(["sample", str(cgan_run), "--seeds", bad, "--out", str(tmp_path / "b.png")]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1
