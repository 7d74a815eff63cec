"""Tests for the `drawlab` command line and the small Python API (drawlab.load(...).sample(...))."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import drawlab
from conftest import TINY, grid_tiles, write_images
from drawlab.cli import main
from drawlab import losses
from drawlab.config import DEFAULT_PRESET, PRESETS
from drawlab.data import list_sources
from drawlab.models import list_models
from drawlab.errors import ConfigError


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (runs/, --out) land in the test's own folder."""
    monkeypatch.chdir(tmp_path)


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


def npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


# ---------------------------------------------------------------- listings


def test_models_lists_every_family(capsys) -> None:
    assert main(["models"]) == 0
    out = lines(capsys.readouterr().out)
    listed = [line.split()[0] for line in out]
    assert listed == [name for name, _ in list_models()]  # every registered family, in ladder order
    shipped = ["mlp-mse", "conv-mse", "ae", "vae", "gan", "dcgan", "cgan", "msggan", "flow", "ddpm"]
    assert [name for name in listed if name in shipped] == shipped
    assert all(len(line.split(maxsplit=1)) == 2 for line in out)


def test_models_as_a_real_command(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "drawlab", "models"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stderr == ""
    assert [line.split()[0] for line in lines(p.stdout)] == [
        "mlp-mse",
        "conv-mse",
        "ae",
        "vae",
        "gan",
        "dcgan",
        "cgan",
        "msggan",
        "flow",
        "ddpm",
    ]


def test_data_and_presets_lists(capsys) -> None:
    assert main(["data"]) == 0
    out = lines(capsys.readouterr().out)
    listed, shipped = [line.split()[0] for line in out], ["mnist", "mnist-5k", "fashion", "patches:PATH", "folder:PATH"]
    assert listed == [usage for usage, _ in list_sources()]  # every registered source, in the registry's order
    assert [s for s in listed if s in shipped] == shipped
    assert main(["presets"]) == 0
    out = lines(capsys.readouterr().out)
    assert [line.split()[0] for line in out] == list(PRESETS) and {"mnist-dcgan", "mnist-cgan"} <= set(PRESETS)
    assert [line.split()[0] for line in out if line.endswith("(default)")] == [DEFAULT_PRESET]
    assert main(["losses"]) == 0
    out = lines(capsys.readouterr().out)
    assert [line.split()[0] for line in out] == losses.names() and "ra-hinge" in losses.names()


def test_no_command_prints_help_and_version(capsys) -> None:
    assert main([]) == 0
    assert "train" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"drawlab {drawlab.__version__}"


# ---------------------------------------------------------------- sample


def test_sample_png_grid(dcgan_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "grid.png"
    assert main(["sample", str(dcgan_run), "--n", "12", "--out", str(out)]) == 0
    assert f"12 images from mnist-5k model dcgan (step 4) -> {out}" in capsys.readouterr().out
    grid = png(out)
    assert grid.dtype == np.uint8 and grid.ndim == 2
    grid_tiles(grid, 12)  # 12 tiles of 2 x 28 px
    assert grid[0].min() == 255 and grid[2:58, 2:58].std() > 0  # white border, a drawn tile
    assert main(["sample", str(dcgan_run), "--n", "12", "--nrow", "3", "--out", "narrow.png"]) == 0
    assert png(tmp_path / "narrow.png").shape == (4 * 58 + 2, 3 * 58 + 2)
    assert not list(tmp_path.glob("*.tmp*"))


def test_sample_default_out_is_in_the_run(dcgan_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(dcgan_run, run)
    assert main(["sample", str(run), "--n", "4", "--seed", "5"]) == 0
    assert grid_tiles(png(run / "samples" / "sample-seed5.png"), 4) == (1, 4)


def test_sample_npz_same_seed_same_images(dcgan_run: Path, tmp_path: Path) -> None:
    for name, seed in (("a.npz", "1"), ("b.npz", "1"), ("c.npz", "2")):
        assert main(["sample", str(dcgan_run), "--n", "6", "--seed", seed, "--out", name]) == 0
    a, b, c = npz(tmp_path / "a.npz"), npz(tmp_path / "b.npz"), npz(tmp_path / "c.npz")
    assert set(a) == {"images", "made"}  # unconditional: no labels
    made = json.loads(str(a["made"]))  # how they were drawn: one pass of G, nothing to say of a sampler
    assert made == {"model": "dcgan", "step": made["step"], "seed": 1, "sampling": None} and made["step"] > 0
    assert a["images"].dtype == np.uint8 and a["images"].shape == (6, 28, 28)
    assert np.array_equal(a["images"], b["images"])
    assert not np.array_equal(a["images"], c["images"])
    assert np.array_equal(a["images"], drawlab.load(dcgan_run).sample(6, seed=1))
    assert main(["sample", str(dcgan_run), "--n", "6", "--seed", "1", "--checkpoint", "2", "--out", "old.npz"]) == 0
    assert not np.array_equal(npz(tmp_path / "old.npz")["images"], a["images"])


def test_sample_npz_conditional_labels(cgan_run: Path, tmp_path: Path) -> None:
    assert main(["sample", str(cgan_run), "--n", "5", "--label", "7", "--out", "sevens.npz"]) == 0
    assert main(["sample", str(cgan_run), "--n", "5", "--label", "3", "--out", "threes.npz"]) == 0
    assert main(["sample", str(cgan_run), "--n", "12", "--out", "all.npz"]) == 0
    sevens, threes, every = npz(tmp_path / "sevens.npz"), npz(tmp_path / "threes.npz"), npz(tmp_path / "all.npz")
    assert sevens["images"].dtype == np.uint8 and sevens["images"].shape == (5, 28, 28)
    assert sevens["labels"].tolist() == [7] * 5 and threes["labels"].tolist() == [3] * 5
    assert not np.array_equal(sevens["images"], threes["images"])  # the label changes the drawing
    assert every["labels"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert main(["sample", str(cgan_run), "--n", "12", "--out", "all.png"]) == 0
    assert grid_tiles(png(tmp_path / "all.png"), 12) == (2, 10)  # a column per class


# ---------------------------------------------------------------- the Python API


def test_load_and_sample(dcgan_run: Path, cgan_run: Path) -> None:
    d = drawlab.load(dcgan_run)
    assert d.step == 4 and not d.conditional and d.shape == (1, 28, 28)
    imgs = d.sample(5, seed=0)
    assert isinstance(imgs, np.ndarray) and imgs.dtype == np.uint8 and imgs.shape == (5, 28, 28)
    assert np.array_equal(imgs, d.sample(5, seed=0))
    assert np.abs(imgs.astype(int) - d.sample(5, seed=0, batch_size=2).astype(int)).max() <= 1
    assert drawlab.load(dcgan_run, checkpoint=2).step == 2
    with pytest.raises(ConfigError, match="not conditional"):
        d.sample(2, labels=1)

    c = drawlab.load(cgan_run)
    assert c.conditional and c.num_classes == 10 and c.class_names == [str(k) for k in range(10)]
    twos = c.sample(5, seed=0, labels=2)
    assert twos.dtype == np.uint8 and twos.shape == (5, 28, 28)
    assert np.array_equal(twos, c.sample(5, seed=0, labels=[2] * 5))
    imgs, labels = c.sample_tensor(4, seed=0, labels=[9, 8, 7, 6])
    assert tuple(imgs.shape) == (4, 1, 28, 28) and labels.tolist() == [9, 8, 7, 6]
    with pytest.raises(ConfigError, match="3 labels for 5 samples"):
        c.sample(5, labels=[1, 2, 3])
    with pytest.raises(ConfigError, match="out of range"):
        c.sample(2, labels=10)


# ---------------------------------------------------------------- train from the command line


def test_train_dry_run_with_the_default_preset(tmp_path: Path, capsys) -> None:
    assert main(["train", "--dry-run", "--device", "cpu", "--no-progress", "--out", "dry"]) == 0
    captured = capsys.readouterr()
    assert "checkpoint: dry/checkpoints/step-0000002.safetensors" in captured.out
    assert "mnist-5k" in captured.err  # offline: the shipped sample, with a notice
    cfg = json.loads((tmp_path / "dry" / "config.json").read_text())["train"]
    assert cfg["preset"] == DEFAULT_PRESET and cfg["steps"] == 2 and cfg["minutes"] is None
    assert (tmp_path / "dry" / "samples" / "step-0000002.png").is_file()


def test_train_default_out_and_options(tmp_path: Path, capsys) -> None:
    assert (
        main(
            ["train", *TINY, "--model", "gan", "--data", "mnist-5k", "--steps", "1", "--lr", "0.001", "--loss", "hinge"]
        )
        == 0
    )
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("gan-mnist-5k-")
    cfg = json.loads((run / "config.json").read_text())["train"]
    assert cfg["preset"] is None and cfg["model"]["name"] == "gan" and cfg["model"]["loss"] == "hinge"
    assert cfg["model"]["lr_g"] == cfg["model"]["lr_d"] == 0.001
    assert f"run: {run.relative_to(tmp_path)}" in capsys.readouterr().out


# ---------------------------------------------------------------- every bad input: one line, exit 2


def _a_file(path: Path) -> Path:
    path.write_text("not a folder")
    return path


ERRORS = {
    # name: (argv builder (tmp, request) -> argv, message fragment)
    "label-on-unconditional": (
        lambda t, r: ["sample", str(r.getfixturevalue("dcgan_run")), "--label", "3"],
        "not conditional",
    ),
    "label-out-of-range": (
        lambda t, r: ["sample", str(r.getfixturevalue("cgan_run")), "--label", "10"],
        "out of range",
    ),
    "negative-label": (
        lambda t, r: ["sample", str(r.getfixturevalue("cgan_run")), "--label", "-1"],
        "--label: must be in [0,",
    ),
    "jpg-out": (lambda t, r: ["sample", str(r.getfixturevalue("dcgan_run")), "--out", "x.jpg"], ".png"),
    "missing-run": (lambda t, r: ["sample", str(t / "nowhere")], "does not exist"),
    "not-a-run": (lambda t, r: ["sample", str(t)], "not a drawlab run"),
    "unknown-checkpoint": (
        lambda t, r: ["sample", str(r.getfixturevalue("dcgan_run")), "--checkpoint", "99"],
        "steps available: 2, 4",
    ),
    "zero-images": (lambda t, r: ["sample", str(r.getfixturevalue("dcgan_run")), "--n", "0"], "--n"),
    "bad-nrow": (
        lambda t, r: ["sample", str(r.getfixturevalue("dcgan_run")), "--nrow", "-1", "--out", "g.png"],
        "--nrow",
    ),
    "unknown-device": (
        lambda t, r: ["sample", str(r.getfixturevalue("dcgan_run")), "--device", "tpu"],
        "unknown device",
    ),
    "unknown-model": (
        lambda t, r: [
            "train",
            *TINY,
            "--model",
            "stylegan9",
            "--data",
            "mnist-5k",
            "--steps",
            "1",
            "--out",
            str(t / "out"),
        ],
        "unknown model 'stylegan9'",
    ),
    "unknown-data": (
        lambda t, r: ["train", *TINY, "--data", "cifar", "--steps", "1", "--out", str(t / "out")],
        "unknown dataset 'cifar'",
    ),
    "missing-folder": (
        lambda t, r: ["train", *TINY, "--data", f"folder:{t / 'nope'}", "--steps", "1", "--out", str(t / "out")],
        "does not exist",
    ),
    "batch-size-0": (
        lambda t, r: [
            "train",
            *TINY,
            "--batch-size",
            "0",
            "--data",
            "mnist-5k",
            "--steps",
            "1",
            "--out",
            str(t / "out"),
        ],
        "--batch-size",
    ),
    "batch-larger-than-data": (
        lambda t, r: [
            "train",
            *TINY,
            "--model",
            "dcgan",
            "--data",
            f"folder:{write_images(t / 'few', 3)}",
            "--size",
            "8",
            "--steps",
            "1",
            "--out",
            str(t / "out"),
        ],
        "larger than the dataset",
    ),
    "cgan-unlabelled": (
        lambda t, r: [
            "train",
            *TINY,
            "--model",
            "cgan",
            "--data",
            f"folder:{write_images(t / 'flat', 20)}",
            "--size",
            "8",
            "--steps",
            "1",
            "--out",
            str(t / "out"),
        ],
        "needs labelled data",
    ),
    "negative-steps": (
        lambda t, r: ["train", *TINY, "--data", "mnist-5k", "--steps", "-1", "--out", str(t / "out")],
        "--steps",
    ),
    "bad-ema": (
        lambda t, r: ["train", *TINY, "--data", "mnist-5k", "--ema", "-5", "--steps", "1", "--out", str(t / "out")],
        "--ema",
    ),
    "nan-ema": (
        lambda t, r: ["train", *TINY, "--data", "mnist-5k", "--ema", "nan", "--steps", "1", "--out", str(t / "out")],
        "--ema",
    ),
    "bad-ema-rampup": (
        lambda t, r: [
            "train",
            *TINY,
            "--data",
            "mnist-5k",
            "--ema-rampup",
            "-0.5",
            "--steps",
            "1",
            "--out",
            str(t / "out"),
        ],
        "--ema-rampup",
    ),
    "unknown-preset": (lambda t, r: ["train", "--preset", "cifar-gan", "--out", str(t / "out")], "unknown preset"),
    "faces-without-data": (
        lambda t, r: ["train", "--preset", "faces-dcgan", "--out", str(t / "out")],
        "--data folder:PATH",
    ),
    "faces-30-without-data": (
        lambda t, r: ["train", "--preset", "faces-dcgan-30", "--out", str(t / "out")],
        "faces-dcgan-30 needs your faces",
    ),
    "resume-missing": (lambda t, r: ["train", "--resume", str(t / "nowhere")], "does not exist"),
    "resume-with-new-lr": (
        lambda t, r: ["train", "--resume", str(r.getfixturevalue("dcgan_run")), "--lr", "0.1", "--width", "4"],
        "--width, --lr cannot change it",
    ),
    "out-is-a-file": (
        lambda t, r: ["train", *TINY, "--data", "mnist-5k", "--steps", "1", "--out", str(_a_file(t / "afile"))],
        "cannot make the run directory",
    ),
    "out-is-a-run": (
        lambda t, r: [
            "train",
            *TINY,
            "--data",
            "mnist-5k",
            "--steps",
            "1",
            "--out",
            str(r.getfixturevalue("dcgan_run")),
        ],
        "already holds a run",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path, request, capsys) -> None:
    build, message = ERRORS[case]
    argv = build(tmp_path, request)
    capsys.readouterr()
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = lines(captured.err)
    assert len(err) == 1, captured.err
    assert err[0].startswith("drawlab: error: ") and message in err[0]
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()  # nothing half-created


def test_bad_input_in_a_real_process(tmp_path: Path) -> None:
    folder = write_images(tmp_path / "flat", 20)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "drawlab",
            "train",
            *TINY,
            "--model",
            "cgan",
            "--data",
            f"folder:{folder}",
            "--size",
            "8",
            "--steps",
            "1",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and p.stdout == ""
    assert lines(p.stderr) == [lines(p.stderr)[0]] and p.stderr.startswith("drawlab: error: model cgan needs")


def test_resume_from_another_directory_with_relative_paths(tmp_path: Path, monkeypatch, capsys) -> None:
    """A run made with relative --data/--data-root/--out paths resumes and samples from anywhere."""
    work = tmp_path / "work"
    write_images(work / "imgs", 32)
    monkeypatch.chdir(work)
    assert (
        main(
            [
                "train",
                *TINY,
                "--model",
                "dcgan",
                "--data",
                "folder:imgs",
                "--data-root",
                "cache",
                "--size",
                "8",
                "--steps",
                "2",
                "--out",
                "runs/r",
            ]
        )
        == 0
    )
    run = work / "runs" / "r"
    data = json.loads((run / "config.json").read_text())["train"]["data"]
    assert Path(data["spec"].split(":", 1)[1]).is_absolute() and Path(data["root"]).is_absolute()
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0, capsys.readouterr().err
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 4
    assert "changed" not in capsys.readouterr().err  # the same data, found again
    assert drawlab.load(run).sample(3).shape == (3, 8, 8)


def test_colour_run_samples_rgb(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    (tmp_path / "rgb").mkdir()
    for i in range(16):
        PILImage.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb" / f"{i}.png")
    assert (
        main(
            [
                "train",
                *TINY,
                "--model",
                "dcgan",
                "--data",
                f"folder:{tmp_path / 'rgb'}",
                "--size",
                "8",
                "--steps",
                "1",
                "--out",
                "run",
            ]
        )
        == 0
    )
    imgs = drawlab.load("run").sample(3, seed=0)
    assert imgs.dtype == np.uint8 and imgs.shape == (3, 8, 8, 3)
    assert main(["sample", "run", "--n", "3", "--out", "g.png"]) == 0
    assert png(tmp_path / "g.png").shape[2] == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (lambda t, r: ["sample", str(r), "--seed", str(2**70)], "--seed"),
        (lambda t, r: ["sample", str(r), "--label", str(2**70)], "--label"),
        (lambda t, r: ["sample", str(r), "--out", str(t)], "is a folder"),
        (lambda t, r: ["sample", str(r), "--out", str(_a_file(t / "f")) + "/x.png"], "is a file, not a folder"),
        (lambda t, r: ["sample", str(_a_file(t / "g"))], "is a file, not a run directory"),
        (
            lambda t, r: ["train", *TINY, "--data", "mnist-5k", "--steps", "1", "--seed", "-1", "--out", str(t / "o")],
            "--seed",
        ),
        (
            lambda t, r: [
                "train",
                *TINY,
                "--data",
                "mnist-5k",
                "--steps",
                "1",
                "--d-width",
                "-3",
                "--out",
                str(t / "o"),
            ],
            "--d-width",
        ),
        (
            lambda t, r: [
                "train",
                *TINY,
                "--data",
                "mnist-5k",
                "--steps",
                "1",
                "--label-smoothing",
                "3",
                "--out",
                str(t / "o"),
            ],
            "--label-smoothing",
        ),
        (
            lambda t, r: [
                "train",
                *TINY,
                "--data",
                "mnist-5k",
                "--steps",
                "1",
                "--sample-every",
                "-5",
                "--out",
                str(t / "o"),
            ],
            "--sample-every",
        ),
        (
            lambda t, r: [
                "train",
                *TINY,
                "--data",
                "mnist-5k",
                "--steps",
                "4",
                "--eval-every",
                "2",
                "--eval-n",
                "10",
                "--out",
                str(t / "o"),
            ],
            "--n",
        ),
    ],
    ids=[
        "seed-overflow",
        "label-overflow",
        "out-is-dir",
        "out-under-file",
        "run-is-file",
        "negative-seed",
        "negative-d-width",
        "label-smoothing",
        "sample-every",
        "eval-n-too-small",
    ],
)
def test_more_bad_input_is_one_line(tmp_path: Path, request, dcgan_run: Path, args, message, capsys) -> None:
    assert main(args(tmp_path, dcgan_run)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("drawlab: error:") and message in err[0]
    assert not (tmp_path / "o").exists()


def test_checkpoint_by_absolute_path_with_a_relative_run_dir(dcgan_run: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(dcgan_run.parent)
    ck = sorted((dcgan_run / "checkpoints").glob("step-*.safetensors"))[-1]
    out = tmp_path / "a.npz"
    assert main(["sample", dcgan_run.name, "--checkpoint", str(ck.resolve()), "--n", "2", "--out", str(out)]) == 0
    assert out.is_file()
