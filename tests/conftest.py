"""Shared fixtures: an isolated environment for every test, and tiny trained runs built once per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

from drawlab.cli import main
from drawlab.config import DataConfig, ModelConfig, TrainConfig
from drawlab.run import RunDir
from drawlab.training import Trainer


def _share_the_cores() -> None:
    """Under pytest-xdist (`make test` runs `-n auto`) each worker gets its share of the cores, it and the
    processes it starts (OMP_NUM_THREADS), so two workers on 2 cores do not fight over 4 threads."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        share = max(1, (os.cpu_count() or 1) // workers)
        os.environ["OMP_NUM_THREADS"] = str(share)
        torch.set_num_threads(share)


_share_the_cores()

# the smallest sensible run: everything the trainer does, in a second or two on a laptop CPU
TINY = ["--width", "8", "--z-dim", "8", "--batch-size", "16", "--device", "cpu", "--precision", "fp32", "--no-progress"]


@pytest.fixture(scope="session", autouse=True)
def _drawlab_env(tmp_path_factory: pytest.TempPathFactory):
    """No network, no ~/.cache: DRAWLAB_OFFLINE=1 and a fresh DRAWLAB_DATA for the whole session.

    Subprocesses inherit it; tests/test_data.py points DRAWLAB_DATA at its own folder per test on top
    of this (its monkeypatch restores this value afterwards)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DRAWLAB_OFFLINE", "1")
    mp.setenv("DRAWLAB_DATA", str(tmp_path_factory.mktemp("drawlab-data")))
    mp.delenv("DRAWLAB_FASHION_DIR", raising=False)
    yield
    mp.undo()


@pytest.fixture(params=["bf16", "fp32"])
def forced_probe(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The precision probe's decision forced each way ($DRAWLAB_PRECISION_PROBE, see device.fake_probe), so
    a test of what `--precision auto` prints passes whatever this CPU would measure, and an AVX2 machine
    exercises the bf16 branch too. (The whole suite can be forced too: DRAWLAB_PRECISION_PROBE=bf16 make test.)"""
    from drawlab.device import PROBE_ENV

    monkeypatch.setenv(PROBE_ENV, request.param)
    return request.param


def train_cli(*args: str) -> int:
    """`drawlab train TINY ARGS` in this process; returns the exit code."""
    return main(["train", *TINY, *args])


@pytest.fixture(scope="session")
def tiny_train() -> Callable[..., int]:
    return train_cli


def _build(tmp_path_factory: pytest.TempPathFactory, model: str) -> Path:
    out = tmp_path_factory.mktemp(f"run-{model}") / "run"
    code = train_cli(
        "--model",
        model,
        "--data",
        "mnist-5k",
        "--steps",
        "4",
        "--checkpoint-every",
        "2",
        "--ema",
        "100",
        "--out",
        str(out),
    )
    assert code == 0
    return out


@pytest.fixture(scope="session")
def dcgan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-step DCGAN run (EMA on) on mnist-5k (checkpoints at steps 2 and 4). Read it, never change it."""
    return _build(tmp_path_factory, "dcgan")


@pytest.fixture(scope="session")
def cgan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-step conditional DCGAN run (EMA on) on mnist-5k (checkpoints at steps 2 and 4). Read it, never change it."""
    return _build(tmp_path_factory, "cgan")


def write_images(folder: Path, n: int, size: int = 8, classes: Sequence[str] = (), seed: int = 0) -> Path:
    """``n`` random grey PNGs of ``size`` x ``size`` under ``folder`` (spread over class subfolders if given)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = folder / classes[i % len(classes)] if classes else folder
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(sub / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="session")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 unlabelled 8x8 grey images: with batch size 16 an epoch is 2 steps."""
    return write_images(tmp_path_factory.mktemp("small") / "imgs", 32)


def grid_tiles(grid, n: int, tile: int = 56, pad: int = 2) -> tuple[int, int]:
    """(rows, columns) of a sample grid of ``n`` tiles of ``tile`` px with ``pad`` px gaps; asserts it fits."""
    h, w = grid.shape[:2]
    assert (h - pad) % (tile + pad) == 0 and (w - pad) % (tile + pad) == 0, grid.shape
    rows, cols = (h - pad) // (tile + pad), (w - pad) // (tile + pad)
    assert cols <= n and (rows - 1) * cols < n <= rows * cols, (rows, cols, n)
    return rows, cols


# -- tiny runs through the Trainer API (returns (TrainResult, the lines it said)) -------------------


def tiny_cfg(spec: str, name: str = "dcgan", **kw) -> TrainConfig:
    model = {k: kw.pop(k) for k in ("ema_images", "ema_rampup") if k in kw}
    size = kw.pop("size", None)
    return TrainConfig(
        model=ModelConfig(name=name, z_dim=8, width=8, **model),
        data=DataConfig(spec=spec, size=size),
        batch_size=16,
        device="cpu",
        precision="fp32",
        **kw,
    )


def train(cfg: TrainConfig, out: Path, resume: bool = False):
    lines: list[str] = []
    res = Trainer(cfg, out, resume=resume, progress=False, echo=lines.append).train()
    return res, lines


def resume_to(run: Path, **length):
    cfg, _ = RunDir(run).read_config()
    cfg.steps, cfg.epochs, cfg.minutes = length.get("steps"), length.get("epochs"), length.get("minutes")
    return train(cfg, run, resume=True)
