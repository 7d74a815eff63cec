"""Training diagnostics and run options beyond the core loop: small-data and collapse warnings,
the in-training evaluation and best checkpoint, CUDA-graph runs resumed on the CPU, device changes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import resume_to, tiny_cfg, train
from drawlab.cli import main
from drawlab.run import RunDir
from drawlab.training import Trainer


def test_small_dataset_warns_and_large_does_not(tmp_path: Path, small_folder: Path) -> None:
    _, lines = train(tiny_cfg(f"folder:{small_folder}", size=8, steps=1), tmp_path / "small")
    assert any("only 32 training images" in line for line in lines)
    _, lines = train(tiny_cfg("mnist-5k", steps=1), tmp_path / "big")
    assert not any("training images:" in line for line in lines)


def test_eval_every_logs_fid_and_keeps_the_best_checkpoint(tmp_path: Path, capsys, monkeypatch) -> None:
    from drawlab.metrics import features

    monkeypatch.setattr(features, "default_steps", lambda n: 30)  # a quick feature net: the probe is the subject
    cfg = tiny_cfg("mnist-5k", steps=4, eval_every=2, eval_n=300, keep_checkpoints=1, checkpoint_every=1)
    train(cfg, tmp_path / "r")
    recs = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in recs if r.get("eval")]
    assert [r["step"] for r in evals] == [2, 4]
    name = next(k for k in evals[0] if k.startswith("fid") and not k.endswith("_floor"))
    assert re.search(r"-cnn@[0-9a-f]{6}$", name) and all(r[name] > r[name + "_floor"] >= 0 for r in evals)
    for kind in ("precision", "recall", "coverage", "modes"):
        key = name.replace("fid", kind, 1)
        assert all(0 <= r[key] <= (10 if kind == "modes" else 1) for r in evals), key
    from drawlab.records.figures import _fid_key, read_log  # the curve in monitor/losses.png

    assert _fid_key(read_log(RunDir(tmp_path / "r"))["eval"]) == name
    assert (tmp_path / "r" / "monitor" / "losses.png").is_file()
    best = json.loads((tmp_path / "r" / "checkpoints" / "best.json").read_text())
    assert best["metric"] == name and best["step"] in (2, 4)
    assert best["value"] == pytest.approx(min(r[name] for r in evals), abs=1e-4)
    # rotation (keep 1) never deletes the best weights, and they can be sampled
    assert (tmp_path / "r" / "checkpoints" / "best.safetensors").is_file()
    out = tmp_path / "best.npz"
    assert main(["sample", str(tmp_path / "r"), "--checkpoint", "best", "--n", "5", "--out", str(out)]) == 0
    assert np.load(out)["images"].shape == (5, 28, 28)
    assert main(["sample", str(tmp_path / "r"), "--checkpoint", "best", "--n", "5", "--out", str(out)]) == 0


def test_best_checkpoint_missing_is_a_clear_error(dcgan_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["sample", str(dcgan_run), "--checkpoint", "best", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--eval-every" in err[0]


def test_a_run_trained_with_cuda_graphs_resumes_on_the_cpu(tmp_path: Path, tiny_train) -> None:
    run = tmp_path / "r"
    assert tiny_train("--steps", "2", "--out", str(run)) == 0
    cfg_file = run / "config.json"
    d = json.loads(cfg_file.read_text())
    d["train"]["cuda_graphs"] = True  # as if it had been trained with --cuda-graphs on a GPU
    cfg_file.write_text(json.dumps(d))
    state = run / "checkpoints" / "step-0000002.state.pt"
    s = torch.load(state, weights_only=True)
    for opt in s["optimizers"].values():  # and its optimizers saved as capturable
        for g in opt["param_groups"]:
            g["capturable"] = True
    torch.save(s, state)
    assert main(["train", "--resume", str(run), "--steps", "3", "--no-progress"]) == 0
    assert RunDir(run).latest_checkpoint().step == 3


def test_cuda_graphs_on_the_cpu_is_a_clear_error(tmp_path: Path, forced_probe: str, capsys) -> None:
    assert (
        main(
            [
                "train",
                "--data",
                "mnist-5k",
                "--cuda-graphs",
                "--device",
                "cpu",
                "--steps",
                "1",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cuda-graphs needs a CUDA device" in err[0] and "drop --cuda-graphs" in err[0]
    assert not (tmp_path / "r").exists()


def test_resume_on_another_device_restarts_the_noise_with_a_note(tmp_path: Path) -> None:
    cfg = tiny_cfg("mnist-5k", steps=2)
    train(cfg, tmp_path / "r")
    state = tmp_path / "r" / "checkpoints" / "step-0000002.state.pt"
    s = torch.load(state, weights_only=True)
    s["rng_train"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state is 16 bytes
    torch.save(s, state)
    res, lines = resume_to(tmp_path / "r", steps=3)
    assert res.step == 3 and any("fresh seed" in line for line in lines)


def test_watchdog_says_each_problem_once_with_since_and_what_to_try() -> None:
    from drawlab.records.verdicts import Kind
    from drawlab.training.diagnostics import diversity
    from drawlab.training.monitors.watchdog import Watchdog

    w = Watchdog(data_diversity=0.3, patience=2, d_wins_steps=50)
    won = {"loss_d": 0.01, "loss_g": 5.0, "d_real": 0.99, "d_fake": 0.01}
    assert w.check_record({"step": 50, "loss_d": 1.0, "loss_g": 1.0, "d_real": 0.6, "d_fake": 0.4}) == []
    assert w.check_record({"step": 100, **won}) == []
    said = w.check_record({"step": 150, **won})
    assert [v.kind for v in said] == [Kind.D_WINS] and said[0].since == 100 and said[0].step == 150
    assert "D has been winning since step 100" in said[0].what and "--instance-noise" in said[0].try_
    assert "D(G(z)) < 0.05" in said[0].line()
    assert w.check_record({"step": 200, **won}) == []  # once only
    frozen = w.check_record({"step": 250, **won})
    assert [v.kind for v in frozen] == [Kind.FROZEN] and frozen[0].since == 100
    same = torch.full((8, 1, 4, 4), 128, dtype=torch.uint8)
    varied = torch.randint(0, 256, (8, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert diversity(same) == 0.0 and diversity(varied) > 0.3
    assert w.check_samples(same, None, 10) == []  # alike from the start: G has not learnt yet
    assert w.check_samples(varied, None, 20) == []
    assert "mode collapse" in w.check_samples(same, None, 30)[0].what  # diverse, then alike: collapse
    from drawlab.training.monitors.watchdog import NEVER_DIVERSE, WARMUP_STEPS

    fresh = Watchdog(data_diversity=0.3)
    assert fresh.check_samples(same, None, WARMUP_STEPS - 1) == []  # alike early on: not yet
    assert fresh.check_samples(same, None, WARMUP_STEPS) == []  # (two grids: too few to call it flat)
    late = fresh.check_samples(same, None, WARMUP_STEPS + 1)  # still alike and flat after the warm-up
    assert late and late[0].kind is Kind.COLLAPSE
    # slow to learn, not collapsed: low but rising diversity, as faces at 200, 400, 600 steps
    slow = Watchdog(data_diversity=5 * diversity(varied))
    for k, step in enumerate((200, 400, 600, 800)):
        mix = torch.cat([varied[: 2 + 2 * k], same[: 6 - 2 * k]])  # more distinct images each grid
        assert diversity(mix) / slow.data_diversity < NEVER_DIVERSE
        assert slow.check_samples(mix, None, step) == [], step
    # D winning early for a while, then G catching up (faces-dcgan, steps 100-250): no verdict
    early = Watchdog(data_diversity=0.3)
    for step in range(100, 300, 50):
        assert early.check_record({"step": step, **won}) == [], step
    assert early.check_record({"step": 300, "loss_d": 1.0, "loss_g": 1.0, "d_real": 0.9, "d_fake": 0.09}) == []
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    per_class_copies = torch.cat([varied[:1].expand(4, -1, -1, -1), varied[1:2].expand(4, -1, -1, -1)])
    assert diversity(per_class_copies) > 0.1 and diversity(per_class_copies, labels) == 0.0


def test_hinge_watchdog_reads_scores_not_probabilities() -> None:
    from drawlab.losses import HINGE_LOGIT
    from drawlab.training.monitors.watchdog import Watchdog

    w = Watchdog(data_diversity=0.3, readout=HINGE_LOGIT, patience=2, d_wins_steps=1)
    prob_like = {"loss_d": 0.0, "loss_g": 1.0, "logit_real": 0.99, "logit_fake": 0.01}
    assert w.check_record({"step": 1, **prob_like}) == [] and w.check_record({"step": 2, **prob_like}) == []
    won = {"loss_d": 0.0, "loss_g": 3.0, "logit_real": 2.5, "logit_fake": -3.0}
    w.check_record({"step": 3, **won})
    said = w.check_record({"step": 4, **won})
    assert said and "D(x)" not in said[0].line() and "D(G(z))" not in said[0].line() and "hinge" in said[0].line()
    assert "D(x)" not in HINGE_LOGIT.explain(0.3, -0.2)


def test_training_run_checks_its_samples_for_collapse(tmp_path: Path) -> None:
    """A run whose generator draws diverse images at the first grid and one image for every noise after:
    its watchdog records a mode collapse at the second grid's step, and says it."""
    from drawlab.records.verdicts import Kind
    from drawlab.records.verdicts import read as read_verdicts

    lines: list[str] = []
    cfg = tiny_cfg("mnist-5k", name="cgan", steps=3, sample_every=1)
    trainer = Trainer(cfg, tmp_path / "r", progress=False, echo=lines.append)
    assert trainer.watchdog is not None and 0.2 < trainer.watchdog.data_diversity < 0.6  # real digits' spread
    real = trainer.setup.data.images[: cfg.grid_n].float() / 127.5 - 1
    calls: list[int] = []

    def diverse_then_alike(z, y=None):
        calls.append(1)
        return real.clone() if len(calls) == 1 else real[:1].expand_as(real).clone()

    trainer.family.generate = diverse_then_alike  # the grid's images, as a collapsing G would draw them
    trainer.train()
    found = read_verdicts(tmp_path / "r" / "monitor" / "verdicts.jsonl")
    assert [(v.kind, v.step) for v in found] == [(Kind.COLLAPSE, 2)]
    assert any("mode collapse" in line for line in lines)


def test_least_squares_watchdog_says_d_wins_in_its_own_words() -> None:
    """An lsgan run where D wins is told so on the least-squares scale, never in the hinge loss's words."""
    from drawlab.losses.lsgan import LS_SCORE
    from drawlab.training.monitors.watchdog import Watchdog

    w = Watchdog(data_diversity=0.3, readout=LS_SCORE, patience=2, d_wins_steps=1)
    won = {"loss_d": 0.0, "loss_g": 1.0, LS_SCORE.keys[0]: 0.98, LS_SCORE.keys[1]: 0.02}
    w.check_record({"step": 1, **won})
    said = w.check_record({"step": 2, **won})
    assert said and "hinge" not in said[0].line() and "least-squares" in said[0].line()
