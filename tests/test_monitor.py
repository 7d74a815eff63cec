"""Watching training: D's distributions per epoch, verdicts recorded in the run, the stabilising tricks
as switches (validated, effective, resumed exactly), and the monitor pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY, resume_to, tiny_cfg, train
from drawlab.cli import main
from drawlab.config import ModelConfig
from drawlab.losses import LOSSES
from drawlab.models import tricks
from drawlab.records.verdicts import Kind
from drawlab.records.verdicts import read as read_verdicts


def records(run: Path, kind: str) -> list[dict]:
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in recs if r.get(kind)]


def weights(run: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / f"step-{step:07d}.safetensors"))


# -- the tricks, one by one ---------------------------------------------------------------------------
def test_targets_smooth_and_flip_with_the_given_probability() -> None:
    g = torch.Generator().manual_seed(0)
    assert tricks.targets(4, True, 0.1, 0.0, g, torch.device("cpu")).tolist() == pytest.approx([0.9] * 4)
    assert tricks.targets(4, False, 0.1, 0.0, g, torch.device("cpu")).tolist() == [0.0] * 4
    real = tricks.targets(20_000, True, 0.0, 0.2, g, torch.device("cpu"))
    fake = tricks.targets(20_000, False, 0.0, 0.2, g, torch.device("cpu"))
    assert set(real.unique().tolist()) == {0.0, 1.0} and (real == 0).float().mean() == pytest.approx(0.2, abs=0.01)
    assert (fake == 1).float().mean() == pytest.approx(0.2, abs=0.01)


def test_instance_noise_decays_linearly_to_zero() -> None:
    cfg = ModelConfig(instance_noise=0.2, instance_noise_steps=100)
    assert [tricks.noise_sigma(cfg, s) for s in (0, 50, 100, 150)] == pytest.approx([0.2, 0.1, 0.0, 0.0])
    x = torch.zeros(2, 1, 4, 4)
    assert tricks.add_noise(x, 0.0, torch.Generator()) is x
    assert tricks.add_noise(x, 0.5, torch.Generator().manual_seed(0)).std() > 0.3


def test_swap_replaces_the_first_share_of_the_real_batch_until_the_epoch() -> None:
    cfg = ModelConfig(swap_real_fraction=0.25, swap_until_epoch=2)
    assert [tricks.swap_count(cfg, 8, s, 10) for s in (0, 19, 20)] == [2, 2, 0]
    x, fake = torch.zeros(8, 1, 2, 2), torch.ones(8, 1, 2, 2)
    out = tricks.swap_real(x, fake, 2)
    assert out[:2].eq(1).all() and out[2:].eq(0).all() and len(out) == 8


def test_d_pretraining_leaves_g_alone_and_g_steps_update_it_more(tmp_path: Path) -> None:
    base = tiny_cfg("mnist-5k", steps=2)
    train(base, tmp_path / "plain")
    pre = tiny_cfg("mnist-5k", steps=2)
    pre.model.d_pretrain_steps = 2
    train(pre, tmp_path / "pre")
    from drawlab.run import _weights
    from drawlab.training import Trainer

    fresh = Trainer(tiny_cfg("mnist-5k", steps=2), tmp_path / "init", progress=False, echo=lambda s: None)
    w0, wp, wn = _weights(fresh.family), weights(tmp_path / "pre", 2), weights(tmp_path / "plain", 2)
    g_keys = [k for k in w0 if k.startswith("G.") and "running" not in k and "num_batches" not in k]
    assert all(torch.equal(w0[k], wp[k]) for k in g_keys)  # G untouched while D pre-trains
    assert not all(torch.equal(w0[k], wn[k]) for k in g_keys)
    d_keys = [k for k in w0 if k.startswith("D.") and "running" not in k and "num_batches" not in k]
    assert not all(torch.equal(w0[k], wp[k]) for k in d_keys)  # D did learn
    two = tiny_cfg("mnist-5k", steps=2)
    two.model.g_steps = 2
    train(two, tmp_path / "g2")
    state = torch.load(tmp_path / "g2" / "checkpoints" / "step-0000002.state.pt", weights_only=True)
    g_state = next(iter(state["optimizers"]["G"]["state"].values()))
    d_state = next(iter(state["optimizers"]["D"]["state"].values()))
    assert float(g_state["step"]) == 4 and float(d_state["step"]) == 2


def test_every_trick_resumes_exactly(tmp_path: Path) -> None:
    def cfg(steps: int):
        c = tiny_cfg("mnist-5k", name="cgan", steps=steps, checkpoint_every=3, log_every=1)
        m = c.model
        m.g_steps, m.d_pretrain_steps, m.flip_labels, m.label_smoothing = 2, 1, 0.2, 0.1
        m.swap_real_fraction, m.swap_until_epoch, m.instance_noise, m.instance_noise_steps = 0.25, 1, 0.3, 10
        return c

    train(cfg(6), tmp_path / "straight")
    train(cfg(3), tmp_path / "halves")
    res, _ = resume_to(tmp_path / "halves", steps=6)
    assert res.step == 6
    a, b = weights(tmp_path / "straight", 6), weights(tmp_path / "halves", 6)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    saved = json.loads((tmp_path / "halves" / "config.json").read_text())["train"]["model"]
    assert saved["g_steps"] == 2 and saved["swap_real_fraction"] == 0.25 and saved["instance_noise_steps"] == 10


def test_instance_noise_steps_default_to_the_run_length_and_are_kept(tmp_path: Path, tiny_train) -> None:
    assert (
        tiny_train("--data", "mnist-5k", "--steps", "3", "--instance-noise", "0.1", "--out", str(tmp_path / "r")) == 0
    )
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["model"]["instance_noise_steps"] == 3


BAD_TRICKS = {
    "negative-pretrain": (["--d-pretrain-steps", "-1"], "--d-pretrain-steps: must be in [0,"),
    "zero-g-steps": (["--g-steps", "0"], "--g-steps: must be in [1, 100], got 0"),
    "swap-above-one": (["--swap-real-fraction", "1.5", "--swap-until-epoch", "2"], "in [0, 1]"),
    "swap-without-epoch": (["--swap-real-fraction", "0.2"], "--swap-until-epoch"),
    "negative-swap-epoch": (["--swap-until-epoch", "-1"], "--swap-until-epoch: must be in [0,"),
    "flip-negative": (["--flip-labels", "-0.1"], "--flip-labels: must be in [0, 0.5)"),
    "flip-half": (["--flip-labels", "0.5"], "opposite task"),
    "negative-noise": (["--instance-noise", "-0.1"], "--instance-noise: must be in [0, 100]"),
    "zero-noise-steps": (["--instance-noise", "0.1", "--instance-noise-steps", "0"], "--instance-noise-steps"),
    "trick-without-d": (["--model", "mlp-mse", "--flip-labels", "0.1"], "no discriminator"),
    "d-steps-without-d": (["--model", "conv-mse", "--d-steps", "2"], "no discriminator"),
    "hinge-smoothing": (["--loss", "hinge", "--label-smoothing", "0.1"], "no probability targets"),
    "monitor-every-0": (["--monitor-every", "0"], "--monitor-every"),
    "r1-without-d": (["--model", "mlp-mse", "--r1", "1"], "regularises a discriminator"),
    "augment-without-d": (["--model", "conv-mse", "--diffaugment", "color"], "regularises a discriminator"),
    "unknown-augment": (["--diffaugment", "color,blur"], "unknown augmentation 'blur'"),
    "wgan-no-penalty": (["--loss", "wgan-gp", "--gp-weight", "0"], "give --gp-weight > 0"),
    "penalty-batchnorm": (["--r1", "1", "--d-norm", "batch"], "use --d-norm layer"),
    "negative-r1": (["--r1", "-1"], "--r1: must be in [0,"),
    "zero-r1-every": (["--r1", "1", "--r1-every", "0"], "--r1-every: must be in [1, 10000], got 0"),
    "wgan-smoothing": (["--loss", "wgan-gp", "--label-smoothing", "0.1"], "no probability targets"),
}


@pytest.mark.parametrize("case", list(BAD_TRICKS))
def test_bad_trick_is_one_line_exit_2_and_no_run(case: str, tmp_path: Path, capsys) -> None:
    args, message = BAD_TRICKS[case]
    out = tmp_path / "r"
    assert main(["train", *TINY, "--data", "mnist-5k", "--steps", "1", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("drawlab: error: ") and message in err[0], err
    assert not out.exists()


# -- D's distributions ---------------------------------------------------------------------------------
def test_d_histograms_per_epoch_survive_a_hard_stop_and_resume(tmp_path: Path, small_folder: Path) -> None:
    # 32 images, batch 16: an epoch is 2 steps; snapshots every 25 steps at most -> every 13 epochs
    cfg = tiny_cfg(f"folder:{small_folder}", size=8, steps=4, log_every=1, checkpoint_every=2, monitor_every=2)
    run = tmp_path / "r"
    train(cfg, run)
    h = np.load(run / "monitor" / "d_hist.npz")
    assert h["step"].tolist() == [0, 2, 4] and h["edges"].tolist()[0] == 0.0 and h["edges"].tolist()[-1] == 1.0
    assert str(h["scale"]) == "probability" and int(h["n"]) == 32  # min(512, dataset)
    # a hard stop after step 4's snapshot but with the newest checkpoint at 2: resume redoes 3..6 once
    (run / "checkpoints" / "step-0000004.safetensors").unlink()
    (run / "checkpoints" / "latest.json").unlink()
    resume_to(run, steps=6)
    h = np.load(run / "monitor" / "d_hist.npz")
    assert h["step"].tolist() == [0, 2, 4, 6]
    assert [r["step"] for r in records(run, "monitor")] == [0, 2, 4, 6]
    assert all(0 <= r["d_auc"] <= 1 for r in records(run, "monitor"))


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_logs_and_histograms_on_its_own_scale(loss: str, tmp_path: Path, tiny_train) -> None:
    readout = LOSSES[loss].readout
    assert tiny_train("--data", "mnist-5k", "--steps", "2", "--loss", loss, "--out", str(tmp_path / "r")) == 0
    h = np.load(tmp_path / "r" / "monitor" / "d_hist.npz")
    assert str(h["scale"]) == readout.scale.value
    assert (h["edges"][0], h["edges"][-1]) == (readout.lo, readout.hi)
    rec = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if "loss_g" in x][-1]
    other = {"d_real", "d_fake", "logit_real", "logit_fake"} - set(readout.keys)
    assert set(readout.keys) <= set(rec) and not other & set(rec)


def test_monitor_leaves_training_unchanged(tmp_path: Path) -> None:
    """Snapshots (training-mode D and G, statistics restored) must not change a single weight."""
    from drawlab.training import Trainer

    cfg = tiny_cfg("mnist-5k", steps=3, monitor_every=1)
    Trainer(cfg, tmp_path / "watched", progress=False, echo=lambda s: None).train()
    t = Trainer(tiny_cfg("mnist-5k", steps=3), tmp_path / "plain", progress=False, echo=lambda s: None)
    from drawlab.training.monitors.d_monitor import DMonitor

    t.observers.items = [o for o in t.observers.items if not isinstance(o, DMonitor)]
    t.train()
    a, b = weights(tmp_path / "watched", 3), weights(tmp_path / "plain", 3)
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- verdicts ------------------------------------------------------------------------------------------
def test_a_run_where_d_wins_records_the_verdict_with_its_step(tmp_path: Path) -> None:
    run = tmp_path / "fail"
    cfg = tiny_cfg("mnist-5k", steps=40, log_every=2)
    cfg.model.lr_g, cfg.model.lr_d, cfg.model.width = 1e-7, 2e-3, 16
    _, lines = train(cfg, run)
    found = read_verdicts(run / "monitor" / "verdicts.jsonl")
    wins = [v for v in found if v.kind is Kind.D_WINS]
    assert len(wins) == 1 and 0 < wins[0].since < wins[0].step <= 40
    assert any("D has been winning since step" in line and "--lr-g" in line for line in lines)


def test_no_progress_verdict_after_k_evaluations_without_a_new_best() -> None:
    from drawlab.training.monitors.eval_probe import EvalProbe

    class Probe:
        name = "fid300-x"

    ev = EvalProbe(Probe(), every=10, patience=3)
    for step, fid in [(10, 50.0), (20, 30.0), (30, 31.0), (40, 30.5)]:
        ev.history.append((step, fid))
        assert ev.check() is None
    ev.history.append((50, 32.0))
    v = ev.check()
    assert v is not None and v.kind is Kind.NO_PROGRESS and v.since == 20 and v.step == 50
    assert "--checkpoint best" in v.try_ and ev.check() is None  # once
