"""Tests for the trainer and the run directory: contents, checkpoints, exact resume, totals, interrupts."""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

import drawlab.training.logger as logger_mod
from conftest import grid_tiles, resume_to, tiny_cfg, train
from drawlab.cli import main
from drawlab.config import TrainConfig
from drawlab.data import open_dataset
from drawlab.errors import RunError
from drawlab.losses import PROBABILITY
from drawlab.run import RunDir
from drawlab.training import Trainer
from drawlab.training.logger import MetricsLogger

METRIC_KEYS = {"step", "epoch", "time", "loss_d", "loss_g", "d_real", "d_fake", "img_per_s"}


def ck_files(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").iterdir())


def latest_step(run: Path) -> int:
    return json.loads((run / "checkpoints" / "latest.json").read_text())["step"]


def metric_lines(run: Path, kind: str = "train") -> list[dict]:
    """The records of metrics.jsonl of one kind: "train" (log intervals), "monitor" (D snapshots) or "eval"."""
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [
        r
        for r in recs
        if (r.get("monitor") and kind == "monitor")
        or (r.get("eval") and kind == "eval")
        or (not r.get("monitor") and not r.get("eval") and kind == "train")
    ]


def assert_same_tree(a, b, where: str = "") -> None:
    """Nested dicts/lists of tensors and numbers: equal (tensors within 1e-6)."""
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.shape == b.shape and a.dtype == b.dtype, where
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=lambda m: f"{where}: {m}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def assert_same_checkpoint(run_a: Path, run_b: Path, step: int) -> None:
    """Weights (every tensor), optimizer states and RNG states of ``step`` are the same in both runs."""
    stem = f"checkpoints/step-{step:07d}"
    wa, wb = load_file(run_a / f"{stem}.safetensors"), load_file(run_b / f"{stem}.safetensors")
    assert set(wa) == set(wb) and len(wa) > 10
    assert_same_tree(wa, wb, "weights")
    sa = torch.load(run_a / f"{stem}.state.pt", weights_only=True)
    sb = torch.load(run_b / f"{stem}.state.pt", weights_only=True)
    assert sa["step"] == sb["step"] == step
    assert_same_tree(sa["optimizers"], sb["optimizers"], "optimizers")
    assert sum(len(o["state"]) for o in sa["optimizers"].values()) > 0
    assert torch.equal(sa["rng_train"], sb["rng_train"]) and torch.equal(sa["rng_cpu"], sb["rng_cpu"])


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


# ---------------------------------------------------------------- what a run leaves on disk


def test_run_dir_contents(dcgan_run: Path) -> None:
    run = dcgan_run
    cfg = json.loads((run / "config.json").read_text())
    train_cfg = cfg["train"]
    assert TrainConfig.from_dict(train_cfg).to_dict() == train_cfg
    assert train_cfg["model"]["name"] == "dcgan" and train_cfg["model"]["width"] == 8
    assert train_cfg["model"]["z_dim"] == 8 and train_cfg["batch_size"] == 16
    assert train_cfg["steps"] == 4 and train_cfg["epochs"] is None and train_cfg["minutes"] is None
    assert train_cfg["data"]["spec"] == "mnist-5k" and train_cfg["device"] == "cpu"
    assert train_cfg["checkpoint_every"] == 2
    facts = cfg["facts"]
    assert facts["shape"] == [1, 28, 28] and facts["num_classes"] == 10 and facts["conditional"] is False
    assert facts["class_names"] == [str(d) for d in range(10)]
    assert facts["data_name"] == "mnist-5k" and facts["data_size"] == 5000
    assert facts["data_fingerprint"] == open_dataset("mnist-5k").fingerprint
    assert facts["torch_version"] == torch.__version__ and facts["drawlab_version"]

    # checkpoints at 2 and 4 (checkpoint_every=2), latest.json names the newest, nothing half-written
    assert ck_files(run) == [
        "latest.json",
        "step-0000002.safetensors",
        "step-0000002.state.pt",
        "step-0000004.safetensors",
        "step-0000004.state.pt",
    ]
    assert json.loads((run / "checkpoints" / "latest.json").read_text()) == {
        "step": 4,
        "weights": "step-0000004.safetensors",
        "state": "step-0000004.state.pt",
    }
    assert not list(run.rglob("*.tmp*"))

    weights = load_file(run / "checkpoints" / "step-0000004.safetensors")
    prefixes = {k.split(".", 1)[0] for k in weights}
    assert prefixes == {"G", "D", "G_ema"}  # the EMA generator (--ema) is saved too
    assert all(v.dtype in (torch.float32, torch.int64) for v in weights.values())
    with safe_open(run / "checkpoints" / "step-0000004.safetensors", "pt") as f:
        assert f.metadata() == {"format": "drawlab-1", "model": "dcgan", "step": "4"}

    state = torch.load(run / "checkpoints" / "step-0000004.state.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 4 and set(state["optimizers"]) == {"G", "D"}
    assert state["rng_cpu"].dtype == torch.uint8 and state["rng_train"].dtype == torch.uint8
    assert state["precision"] == "fp32" and state["elapsed"] > 0
    assert len(state["optimizers"]["G"]["state"]) == sum(
        1
        for k in weights
        if k.startswith("G.") and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )

    grid_n = train_cfg["grid_n"]
    noise = load_file(run / "fixed_noise.safetensors")
    assert noise["z"].shape == (grid_n, 8) and noise["labels"].tolist() == [0] * grid_n

    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-0000004.png"]
    grid = png(run / "samples" / "step-0000004.png")
    assert grid.dtype == np.uint8 and grid.ndim == 2
    grid_tiles(grid, grid_n)  # grid_n tiles of 2 x 28 px
    assert grid[0].min() == 255 and grid[2:58, 2:58].std() > 0  # a white border, a drawn tile

    recs = metric_lines(run)
    assert len(recs) == 1 and set(recs[0]) == METRIC_KEYS
    rec = recs[0]
    assert rec["step"] == 4 and rec["epoch"] == round(4 / 312, 3)
    assert all(math.isfinite(rec[k]) for k in METRIC_KEYS)
    assert 0 <= rec["d_real"] <= 1 and 0 <= rec["d_fake"] <= 1
    assert rec["img_per_s"] > 0
    # D's distributions: a snapshot before training and one at the end, on >= 500 images each
    mon = metric_lines(run, "monitor")
    assert [r["step"] for r in mon] == [0, 4] and all(0 <= r["d_auc"] <= 1 for r in mon)
    hist = np.load(run / "monitor" / "d_hist.npz")
    assert hist["step"].tolist() == [0, 4] and hist["real_hist"].shape == (2, 50) and int(hist["n"]) >= 500
    np.testing.assert_allclose(hist["real_hist"].sum(1), 1.0)
    assert {p.name for p in (run / "monitor").iterdir()} >= {
        "d_hist.npz",
        "d_heatmap.png",
        "losses.png",
        "evolution.png",
        "evolution.gif",
    }

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert list((run / "tb").glob("events.out.tfevents.*"))
    ea = EventAccumulator(str(run / "tb"))
    ea.Reload()
    tags = ea.Tags()
    assert {"loss/loss_d", "loss/loss_g", "discriminator/D(x)", "discriminator/D(G(z))", "speed/img_per_s"} <= set(
        tags["scalars"]
    )
    assert [e.step for e in ea.Scalars("loss/loss_g")] == [4]
    assert "samples/fixed_noise" in tags["images"]


def test_conditional_run_grid_and_fixed_labels(cgan_run: Path) -> None:
    grid_n = json.loads((cgan_run / "config.json").read_text())["train"]["grid_n"]
    noise = load_file(cgan_run / "fixed_noise.safetensors")
    assert noise["labels"].tolist() == [i % 10 for i in range(grid_n)]
    grid = png(cgan_run / "samples" / "step-0000004.png")
    assert grid_tiles(grid, grid_n)[1] == 10  # a column per class
    weights = load_file(cgan_run / "checkpoints" / "step-0000004.safetensors")
    assert weights["G.cond.embed.weight"].shape[0] == 10  # G takes the label (one embedding per class)


def test_checkpoint_rotation_keeps_the_newest(tmp_path: Path, small_folder: Path) -> None:
    cfg = tiny_cfg(f"folder:{small_folder}", size=8, steps=5, checkpoint_every=1, keep_checkpoints=2)
    res, _ = train(cfg, tmp_path / "r")
    assert res.step == 5 and res.checkpoint == tmp_path / "r" / "checkpoints" / "step-0000005.safetensors"
    assert ck_files(tmp_path / "r") == [
        "latest.json",
        "step-0000004.safetensors",
        "step-0000004.state.pt",
        "step-0000005.safetensors",
        "step-0000005.state.pt",
    ]
    assert [c.step for c in RunDir(tmp_path / "r").list_checkpoints()] == [4, 5]


def test_logger_leaves_checkpoint_pauses_out_of_img_per_s(tmp_path: Path, monkeypatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(logger_mod, "time", SimpleNamespace(perf_counter=lambda: clock[0], time=time.time))
    log = MetricsLogger(tmp_path / "m.jsonl", None, batch_size=10)
    one = {"loss_g": torch.tensor(1.0)}
    for t in (1.0, 2.0):
        clock[0] = t
        log.add(one)
    clock[0] = 5.0  # a 3 s checkpoint pause
    log.reset_clock()
    clock[0] = 6.0
    log.add(one)
    rec = log.flush(3, 0.0)
    assert rec["img_per_s"] == pytest.approx(30 / 3)  # 3 steps x 10 images in 3 s of stepping
    clock[0] = 7.0
    log.add(one)
    clock[0] = 9.0
    log.reset_clock()  # the run's last step was also a checkpoint step
    rec = log.flush(4, 0.0)
    assert rec["img_per_s"] == pytest.approx(10.0)
    assert log.flush(4, 0.0) is None
    assert [json.loads(line)["step"] for line in (tmp_path / "m.jsonl").read_text().splitlines()] == [3, 4]


def test_diagnostics_read_d_numbers() -> None:
    assert PROBABILITY.explain(None, 0.5) == ""
    assert "D wins outright" in PROBABILITY.explain(0.99, 0.01)
    assert "balanced" in PROBABILITY.explain(0.5, 0.48)
    assert "fooled" in PROBABILITY.explain(0.3, 0.6)


# ---------------------------------------------------------------- exact resume


def test_resume_equals_uninterrupted_dcgan(tmp_path: Path, tiny_train) -> None:
    common = ("--model", "dcgan", "--data", "mnist-5k", "--checkpoint-every", "3")
    a, b = tmp_path / "a", tmp_path / "b"
    assert tiny_train(*common, "--steps", "3", "--out", str(a)) == 0
    first_log = (a / "metrics.jsonl").read_text()
    assert main(["train", "--resume", str(a), "--steps", "7", "--no-progress"]) == 0
    assert tiny_train(*common, "--steps", "7", "--out", str(b)) == 0
    assert latest_step(a) == latest_step(b) == 7
    assert_same_checkpoint(a, b, 7)
    assert np.array_equal(png(a / "samples" / "step-0000007.png"), png(b / "samples" / "step-0000007.png"))
    log = (a / "metrics.jsonl").read_text()
    assert log.startswith(first_log)  # appended, not overwritten
    assert [r["step"] for r in metric_lines(a)] == [3, 7]
    assert json.loads((a / "config.json").read_text())["train"]["steps"] == 7


def test_resume_equals_uninterrupted_cgan_with_ema(tmp_path: Path) -> None:
    cfg = tiny_cfg("mnist-5k", name="cgan", ema_images=50, ema_rampup=0.5, log_every=1, checkpoint_every=2, steps=3)
    a, b = tmp_path / "a", tmp_path / "b"
    res, _ = train(cfg, a)
    assert res.step == 3
    res, _ = resume_to(a, steps=6)
    assert res.step == 6 and not res.already_done
    cfg.steps = 6
    train(cfg, b)
    assert_same_checkpoint(a, b, 6)
    weights = load_file(a / "checkpoints" / "step-0000006.safetensors")
    g_ema = {k[len("G_ema.") :]: v for k, v in weights.items() if k.startswith("G_ema.")}
    g = {k[len("G.") :]: v for k, v in weights.items() if k.startswith("G.")}
    assert g_ema.keys() == g.keys()
    assert any(not torch.equal(g_ema[k], g[k]) for k in g), "the EMA generator should differ from G"
    # the log continues step by step; the resumed steps log the same numbers as the uninterrupted run
    la, lb = metric_lines(a), metric_lines(b)
    assert [r["step"] for r in la] == [r["step"] for r in lb] == [1, 2, 3, 4, 5, 6]
    for ra, rb in zip(la, lb):
        assert {k: ra[k] for k in ("loss_d", "loss_g", "d_real", "d_fake")} == {
            k: rb[k] for k in ("loss_d", "loss_g", "d_real", "d_fake")
        }


def test_resume_of_a_finished_run_is_already_done(tmp_path: Path, dcgan_run: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(dcgan_run, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and "tb" not in p.parts}
    for extra in ([], ["--steps", "3"], ["--steps", "4"]):
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--no-progress", *extra]) == 0
        out = capsys.readouterr().out
        assert "already reached its target (step 4)" in out and "--steps" in out
    assert ck_files(run) == ck_files(dcgan_run)
    assert (run / "metrics.jsonl").read_bytes() == before[run / "metrics.jsonl"]
    cfg, _ = RunDir(run).read_config()
    trainer = Trainer(cfg, run, resume=True, progress=False, echo=lambda s: None)
    res = trainer.train()
    assert res.already_done and res.step == 4 and res.checkpoint is None


def test_steps_and_epochs_are_totals(tmp_path: Path, small_folder: Path, tiny_train, capsys) -> None:
    run = tmp_path / "run"
    data = ("--model", "dcgan", "--data", f"folder:{small_folder}", "--size", "8")
    assert tiny_train(*data, "--steps", "3", "--out", str(run)) == 0  # 2 steps an epoch
    assert latest_step(run) == 3
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    assert latest_step(run) == 6
    assert main(["train", "--resume", str(run), "--steps", "7", "--no-progress"]) == 0
    assert latest_step(run) == 7
    train_cfg = json.loads((run / "config.json").read_text())["train"]
    assert (train_cfg["steps"], train_cfg["epochs"]) == (7, None)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0  # the stored total: nothing to do
    assert "already reached its target (step 7)" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    assert tiny_train(*data, "--epochs", "2", "--out", str(fresh)) == 0
    assert latest_step(fresh) == 4


# ---------------------------------------------------------------- interrupts and damaged files


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_resume_finishes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "drawlab",
        "train",
        "--model",
        "dcgan",
        "--data",
        "mnist-5k",
        "--width",
        "8",
        "--z-dim",
        "8",
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--precision",
        "fp32",
        "--no-progress",
        "--steps",
        "1000000",
        "--checkpoint-every",
        "2",
        "--out",
        str(run),
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "latest.json").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    step = latest_step(run)
    assert 2 <= step < 1_000_000
    assert (run / "checkpoints" / f"step-{step:07d}.state.pt").is_file()
    assert f"interrupted: step {step}" in err and f"--resume {run}" in err
    assert f"checkpoint: {run / 'checkpoints' / f'step-{step:07d}.safetensors'}" in out
    assert metric_lines(run)[-1]["step"] == step
    assert main(["train", "--resume", str(run), "--steps", str(step + 3), "--no-progress"]) == 0
    assert latest_step(run) == step + 3
    assert [r["step"] for r in metric_lines(run)] == [step, step + 3]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, small_folder: Path) -> Path:
    """dcgan on the small folder, checkpoints at 2 and 4."""
    out = tmp_path_factory.mktemp("base") / "run"
    train(tiny_cfg(f"folder:{small_folder}", size=8, steps=4, checkpoint_every=2), out)
    return out


def _tmp_files(ck: Path) -> None:
    """Half-written temporary files under the names ``files.atomic_write`` gives them today."""
    (ck / ".step-0000006.4242.tmp.safetensors").write_bytes(b"\x00garbage, half written")
    (ck / ".step-0000006.state.4242.tmp.pt").write_bytes(b"PK\x03\x04 half")


def _garbage_latest(ck: Path) -> None:
    (ck / "latest.json").write_text('{"step": 6, "weig')


def _latest_to_missing(ck: Path) -> None:
    (ck / "latest.json").write_text(
        json.dumps({"step": 6, "weights": "step-0000006.safetensors", "state": "step-0000006.state.pt"})
    )


def _no_latest(ck: Path) -> None:
    (ck / "latest.json").unlink()


def _weights_without_state(ck: Path) -> None:
    shutil.copy(ck / "step-0000004.safetensors", ck / "step-0000006.safetensors")
    _garbage_latest(ck)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, small_folder: Path) -> Path:
    """base_run's config trained to step 6 without a stop: what every resume of base_run must equal."""
    out = tmp_path_factory.mktemp("straight") / "run"
    train(tiny_cfg(f"folder:{small_folder}", size=8, steps=6, checkpoint_every=2), out)
    return out


@pytest.mark.parametrize(
    "damage", [_tmp_files, _garbage_latest, _latest_to_missing, _no_latest, _weights_without_state]
)
def test_resume_survives_damaged_bookkeeping(tmp_path: Path, base_run: Path, straight_run: Path, damage) -> None:
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    damage(run / "checkpoints")
    assert RunDir(run).latest_checkpoint().step == 4
    cfg, _ = RunDir(run).read_config()
    cfg.steps = 6
    trainer = Trainer(cfg, run, resume=True, progress=False, echo=lambda s: None)
    assert trainer.step == 4  # the newest complete pair, not the older one at step 2
    res = trainer.train()
    assert res.step == 6 and latest_step(run) == 6
    assert RunDir(run).latest_checkpoint().step == 6
    assert_same_checkpoint(run, straight_run, 6)  # resumed from step 4: the run that never stopped
    assert not list(run.rglob(".*.tmp*")), "a half-written temporary file was left in place"


def test_damaged_checkpoint_file_is_a_clear_error(tmp_path: Path, base_run: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    state = run / "checkpoints" / "step-0000004.state.pt"
    state.write_bytes(state.read_bytes()[:100])  # truncated by a full disk, say
    with pytest.raises(RunError, match="step-0000004.state.pt"):
        resume_to(run, steps=6)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "6", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("drawlab: error:") and len(err.strip().splitlines()) == 1
    assert "delete it" in err
    weights = run / "checkpoints" / "step-0000004.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(RunError, match="step-0000004.safetensors"):
        resume_to(run, steps=6)
    weights.unlink()  # as the message says: delete it, and the run goes on from the older checkpoint
    cfg, _ = RunDir(run).read_config()
    cfg.steps = 6
    trainer = Trainer(cfg, run, resume=True, progress=False, echo=lambda s: None)
    assert trainer.step == 2
    assert trainer.train().step == 6


def test_resume_after_a_hard_stop_redoes_the_lost_steps_once(tmp_path: Path) -> None:
    """A second Ctrl-C (or a kill) stops without a checkpoint: the log holds steps past the last
    checkpoint, maybe half a line. Resume redoes those steps and the log lists each step once."""
    run = tmp_path / "run"
    cfg = tiny_cfg("mnist-5k", log_every=1, checkpoint_every=2, steps=6)
    trainer = Trainer(cfg, run, progress=False, echo=lambda s: None)
    real_step, calls = trainer.family.train_step, []

    def step_then_abort(*args):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt  # what the second Ctrl-C raises, mid-step
        return real_step(*args)

    trainer.family.train_step = step_then_abort
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    trainer_log = run / "metrics.jsonl"
    assert [r["step"] for r in metric_lines(run)] == [1, 2, 3, 4, 5] and latest_step(run) == 4
    with open(trainer_log, "a") as f:
        f.write('{"step": 6, "epoch": 0.0')  # killed while writing a record
    res, _ = resume_to(run, steps=6)
    assert res.step == 6
    assert [r["step"] for r in metric_lines(run)] == [1, 2, 3, 4, 5, 6]

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(run / "tb"))
    ea.Reload()
    assert [e.step for e in ea.Scalars("loss/loss_g")] == [1, 2, 3, 4, 5, 6]


# ---------------------------------------------------------------- the caller's objects, the lock


def test_the_callers_config_is_unchanged_by_a_run_and_config_json_keeps_what_was_resolved(tmp_path: Path) -> None:
    """The Trainer works on its own copy: what it resolves (the instance-noise length) and what a NaN
    rollback changes (the learning rates) go to config.json, never into the caller's TrainConfig."""
    from drawlab import faults

    cfg = tiny_cfg("mnist-5k", steps=6, checkpoint_every=2, log_every=1)
    cfg.model.instance_noise = 0.1  # its length (instance_noise_steps None) is resolved by the run
    before = cfg.to_dict()
    faults.plan("nan@5")
    try:
        res, lines = train(cfg, tmp_path / "r")
    finally:
        faults.plan(None)
    assert res.step == 6 and any("rolled back" in line for line in lines)
    assert cfg.to_dict() == before, "the run changed the caller's TrainConfig"
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["train"]["model"]
    assert saved["instance_noise_steps"] == 6
    assert saved["lr_g"] == pytest.approx(cfg.model.lr_g * 0.5) and saved["lr_d"] == pytest.approx(cfg.model.lr_d * 0.5)


def lock_is_free(run: Path) -> bool:
    """Whether another trainer could take the run now (an flock from a second descriptor of this process)."""
    try:
        with RunDir(run).lock():
            return True
    except RunError:
        return False


def test_the_run_lock_is_released_explicitly_after_a_failed_set_up_and_after_train(tmp_path: Path, monkeypatch) -> None:
    from drawlab.models import Family

    run = tmp_path / "r"
    kept = []  # the trainers stay alive: their lock is not the garbage collector's to drop
    t = Trainer(tiny_cfg("mnist-5k", steps=1), run, progress=False, echo=lambda s: None)
    kept.append(t)
    assert not lock_is_free(run)  # held from the set-up on
    t.train()
    assert lock_is_free(run)
    with Trainer(tiny_cfg("mnist-5k", steps=1), run, resume=True, progress=False, echo=lambda s: None) as t2:
        kept.append(t2)
        assert not lock_is_free(run)
    assert lock_is_free(run)  # the with block released it, without training

    def broken_to(self, *args, **kwargs):
        raise RuntimeError("the device went away")

    monkeypatch.setattr(Family, "to", broken_to)  # fails after the lock is taken and the run opened
    with pytest.raises(RuntimeError, match="device went away") as failed:
        Trainer(tiny_cfg("mnist-5k", steps=2), run, resume=True, progress=False, echo=lambda s: None)
    kept.append(failed)  # its traceback keeps the half-built trainer alive
    assert lock_is_free(run)
