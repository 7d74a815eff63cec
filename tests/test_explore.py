"""Exploring a trained run: one seed one image everywhere, snapshots through training, the walks,
principal directions, what D looks at, and their bad inputs (one line, exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import drawlab
from conftest import train_cli
from drawlab.cli import main
from drawlab.explore import frames as fr
from drawlab.explore import inspect as ins
from drawlab.explore import principal_directions_of
from drawlab.run import RunDir
from drawlab.serve import Explorer
from drawlab.serve.explorer import data_url
from drawlab.training.monitors.snapshots import is_snapshot_step


@pytest.fixture(scope="module")
def run60(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-step conditional DCGAN (EMA on), checkpoints at 30 and 60: snapshots at 0, 50, 60. Read only."""
    out = tmp_path_factory.mktemp("explore") / "run"
    assert (
        train_cli(
            "--model",
            "cgan",
            "--data",
            "mnist-5k",
            "--steps",
            "60",
            "--checkpoint-every",
            "30",
            "--ema",
            "100",
            "--out",
            str(out),
        )
        == 0
    )
    return out


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def test_one_seed_one_image_in_every_tool(run60: Path, tmp_path: Path) -> None:
    """`sample --seeds`, the API, `interpolate` frame 0 and the explorer give identical pixels."""
    assert main(["sample", str(run60), "--seeds", "3,17,42", "--out", str(tmp_path / "s.npz")]) == 0
    cli = np.load(tmp_path / "s.npz")["images"]
    drawer = drawlab.load(run60)
    api = drawer.sample(seeds=[3, 17, 42])
    assert cli.shape == (3, 28, 28) and np.array_equal(cli, api)
    assert np.array_equal(drawer.sample(seeds=[42])[0], api[2])  # not what it is drawn beside
    assert np.array_equal(np.load(tmp_path / "s.npz")["labels"], [3, 7, 2])  # seed % classes
    assert (
        main(["interpolate", str(run60), "--from", "17", "--to", "3", "--steps", "4", "--out", str(tmp_path / "i.npz")])
        == 0
    )
    frames = np.load(tmp_path / "i.npz")["frames"]
    assert frames.shape == (1, 4, 28, 28)
    assert np.array_equal(frames[0, 0], api[1])
    ex = Explorer([str(run60)], k=2)
    view = ex.view({"seed": "42"})
    assert data_url(view.png).startswith("data:image/png")
    with Image.open(__import__("io").BytesIO(view.png)) as im:
        assert np.array_equal(np.asarray(im), api[2])
    assert not np.array_equal(api[0], api[1])


def test_snapshots_log_spaced_kept_outside_rotation_and_on_resume(run60: Path, tmp_path: Path) -> None:
    assert [s for s in range(0, 12001) if is_snapshot_step(s)] == [0, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
    run = RunDir(run60)
    assert list(run.list_snapshots()) == [0, 50, 60]
    assert [c.step for c in run.list_checkpoints()] == [30, 60]
    snap60 = load_file(str(run.list_snapshots()[60]))
    ck60 = load_file(str(run.list_checkpoints()[-1].weights))
    assert snap60.keys() == {k[len("G_ema.") :] for k in ck60 if k.startswith("G_ema.")}  # the sampler only
    assert all(torch.equal(v, ck60["G_ema." + k]) for k, v in snap60.items())
    # a run killed after its step-60 snapshot but before the step-60 checkpoint: resume drops and retakes it
    copy = tmp_path / "run"
    shutil.copytree(run60, copy)
    for p in (copy / "checkpoints").glob("step-0000060*"):
        p.unlink()
    (copy / "checkpoints" / "latest.json").unlink()
    assert main(["train", "--resume", str(copy), "--no-progress"]) == 0
    again = RunDir(copy).list_snapshots()
    assert list(again) == [0, 50, 60]
    assert all(torch.equal(v, load_file(str(again[60]))[k]) for k, v in snap60.items())  # exactly the same G


def test_through_training_one_column_per_snapshot(run60: Path, tmp_path: Path) -> None:
    drawer = drawlab.load(run60)
    f = fr.through_training(drawer, [1, 2])
    assert f.images.shape == (2, 3, 1, 28, 28) and f.cols == ["step 0", "step 50", "step 60"]
    assert torch.equal(f.images[:, -1], drawer.draw(f.z[:, 0], f.labels[:, 0]))  # the last is the final G
    assert not torch.equal(f.images[:, 0], f.images[:, -1])
    early = drawer.at_snapshot(0)
    assert early.family.nets["D"] is drawer.family.nets["D"]  # D stays the trained one
    assert (
        main(["interpolate", str(run60), "--mode", "checkpoints", "--seeds", "1,2", "--out", str(tmp_path / "c.png")])
        == 0
    )


def test_walks_and_outputs(run60: Path, tmp_path: Path) -> None:
    drawer = drawlab.load(run60)
    c = fr.classes(drawer, 5)
    assert c.images.shape == (1, 10, 1, 28, 28) and c.labels[0].tolist() == list(range(10))
    assert len({bytes(im.numpy()) for im in c.images[0]}) == 10  # every class draws differently
    sw = fr.sweeps(drawer, 1, [("z[0]", 0)], -3, 3, 5)
    assert sw.z[0, :, 0].tolist() == [-3.0, -1.5, 0.0, 1.5, 3.0]
    w = fr.walk(drawer, 4, 6)
    assert w.images.shape[:2] == (1, 6)
    for suffix in (".png", ".gif", ".npz"):
        assert fr.save_frames(c, tmp_path / f"c{suffix}").stat().st_size > 0
    with Image.open(tmp_path / "c.gif") as im:
        assert im.n_frames == 10
    assert _png(tmp_path / "c.png").ndim == 2


def test_principal_directions_cached_and_they_move_the_picture(run60: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run60, copy)
    drawer = drawlab.load(copy)
    d = principal_directions_of(drawer, k=3, n=600)
    assert d.vectors.shape == (3, 8) and d.layer == "fc.2"  # after the first ReLU
    assert bool((d.share[:-1] >= d.share[1:]).all())
    cached = list((copy / "explore").glob("directions-step60-n600.safetensors"))
    assert len(cached) == 1
    assert torch.equal(principal_directions_of(drawer, k=3, n=600).vectors, d.vectors)
    flipped = {"vectors": -d.vectors.contiguous(), "share": d.share.contiguous()}  # a cache whose signs differ
    save_file(flipped, str(cached[0]))
    assert torch.equal(principal_directions_of(drawer, k=3, n=600).vectors, d.vectors)  # the same way round
    f = fr.sweeps(drawer, 1, [("d0", d.vectors[0])], -3, 3, 3)
    assert not torch.equal(f.images[0, 0], f.images[0, 2])


def test_saliency_is_the_gradient_of_d(run60: Path) -> None:
    drawer = drawlab.load(run60)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    y = torch.tensor([3, 4])
    maps, logits = ins.saliency(drawer, x, y, smooth=1)
    assert maps.shape == (2, 28, 28) and bool((maps >= 0).all()) and maps.sum() > 0
    smooth, logits16 = ins.saliency(drawer, x, y, smooth=16)
    assert torch.allclose(logits16, logits, atol=1e-5) and not torch.equal(smooth, maps)  # D reads the image itself
    assert torch.allclose(logits, drawer.family.judge(x, y, as_in_training=False), atol=1e-5)
    i, j = divmod(int(maps[0].argmax()), 28)  # a finite difference agrees
    eps = 1e-2
    bumped = x[:1].clone()
    bumped[0, 0, i, j] += eps
    numeric = (drawer.family.judge(bumped, y[:1], as_in_training=False) - logits[:1]).abs() / eps
    assert float(numeric) == pytest.approx(float(maps[0, i, j]), rel=0.2)


def test_maximise_raises_what_it_maximises(run60: Path) -> None:
    drawer = drawlab.load(run60)
    name, layer = ins.pick_layer(drawer, None)
    start = ins.maximise(drawer, [ins.LOGIT, 0], steps=1, lr=1e-9)[0]
    imgs, titles = ins.maximise(drawer, [ins.LOGIT, 0], steps=60)
    assert imgs.shape == (2, 1, 28, 28) and imgs.dtype == torch.uint8 and titles[0] == "most real"
    y = torch.zeros(2, dtype=torch.long)
    before = drawer.family.judge(start.float() / 127.5 - 1, y, as_in_training=False)
    after = drawer.family.judge(imgs.float() / 127.5 - 1, y, as_in_training=False)
    assert after[0] > before[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["interpolate", "{run}", "--mode", "sweep"], "needs --dim"),
        (["interpolate", "{run}", "--from", "1"], "needs --from SEED and --to SEED"),
        (["interpolate", "{run}", "--from", "1", "--to", "2", "--steps", "1"], "--steps: must be in [2, 1000], got 1"),
        (["interpolate", "{run}", "--from", "1", "--to", "2", "--out", "x.jpg"], "use a .png"),
        (["interpolate", "{run}", "--from", "-1", "--to", "2"], "--from: must be in [0,"),
        (["interpolate", "{run}", "--mode", "sweep", "--dim", "8"], "--dim 8 is out of range"),
        (["interpolate", "{run}", "--mode", "sweep", "--direction", "x"], "whole numbers"),
        (["interpolate", "{run}", "--mode", "classes", "--label", "10"], "out of range"),
        (["interpolate", "{run}", "--mode", "checkpoints", "--seeds", ""], "is empty"),
        (["interpolate", "{run}", "--mode", "walk", "--step-size", "0"], "--step-size: must be in (0, 100], got 0"),
        (
            ["interpolate", "{run}", "--mode", "sweep", "--dim", "0", "--range", "nan", "3"],
            "--range: must be a finite number, got nan",
        ),
        (["sample", "{run}", "--seeds", "1,x"], "whole numbers"),
        (["inspect", "{run}", "--maximise", "--channels", "99"], "out of range"),
        (["inspect", "{run}", "--maximise", "--layer", "7"], "--layer 7 is out of range"),
        (["inspect", "{run}", "--saliency", "--image", "nope.png"], "no such file"),
        (["inspect", "{run}", "--saliency", "--out", "s.gif"], "give a .png"),
        (["inspect", "{run}", "--saliency", "--checkpoint", "999"], "no checkpoint"),
        (["interpolate", "{tmp}", "--from", "1", "--to", "2"], "not a drawlab run"),
        (["serve", "{tmp}"], "not a drawlab run"),
        (["serve", "{run}", "--port", "70000"], "--port: must be in [0, 65535], got 70000"),
    ],
)
def test_bad_inputs_one_line_exit_2(run60: Path, tmp_path: Path, capsys, args, words) -> None:
    args = [a.format(run=run60, tmp=tmp_path) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err


def test_inspect_refuses_a_run_without_d(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mse"
    assert train_cli("--model", "mlp-mse", "--data", "mnist-5k", "--steps", "2", "--out", str(out)) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--saliency"]) == 2
    assert "has no discriminator" in capsys.readouterr().err
    assert (
        main(["interpolate", str(out), "--mode", "classes", "--seed", "1", "--out", str(tmp_path / "c.png")]) == 0
    )  # the walks work for every family


def test_inspect_cli_writes_pictures(run60: Path, tmp_path: Path, capsys) -> None:
    assert main(["inspect", str(run60), "--saliency", "--seed", "2", "--out", str(tmp_path / "s.png")]) == 0
    assert "real" in capsys.readouterr().out
    assert _png(tmp_path / "s.png").shape[2] == 3
    img = tmp_path / "mine.png"
    Image.fromarray(np.full((40, 40), 200, np.uint8)).save(img)
    assert main(["inspect", str(run60), "--saliency", "--image", str(img), "--out", str(tmp_path / "m.png")]) == 0
    assert (
        main(
            [
                "inspect",
                str(run60),
                "--maximise",
                "--channels",
                "0,1",
                "--iterations",
                "5",
                "--out",
                str(tmp_path / "x.png"),
            ]
        )
        == 0
    )


def test_an_unconditional_run_walks_and_is_inspected(dcgan_run: Path, tmp_path: Path) -> None:
    for args in (
        ["--from", "3", "--to", "4", "--steps", "3"],
        ["--mode", "walk", "--steps", "3"],
        ["--mode", "sweep", "--direction", "0", "--steps", "3"],
        ["--mode", "checkpoints", "--seeds", "1"],
    ):
        assert main(["interpolate", str(dcgan_run), *args, "--out", str(tmp_path / "x.png")]) == 0, args
    assert main(["interpolate", str(dcgan_run), "--mode", "classes", "--out", str(tmp_path / "c.png")]) == 2
    assert main(["inspect", str(dcgan_run), "--saliency", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["inspect", str(dcgan_run), "--maximise", "--iterations", "3", "--out", str(tmp_path / "m.png")]) == 0
    assert Explorer([str(dcgan_run)], k=2).view({"seed": "1", "label": ""}).d_value is not None
