"""`drawlab report`: one self-contained HTML page per run, rendered in a real headless Chromium;
the ranked gallery; reports of failing, interrupted and still-training runs; bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import render
from conftest import tiny_cfg, train
from drawlab.cli import main


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run made to fail: G barely learns (lr 1e-7) while D learns fast, so D wins."""
    run = tmp_path_factory.mktemp("failing") / "run"
    cfg = tiny_cfg("mnist-5k", steps=40, log_every=2)
    cfg.model.lr_g, cfg.model.lr_d, cfg.model.width = 1e-7, 2e-3, 16
    train(cfg, run)
    return run


def copy(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / run.name
    shutil.copytree(run, dst)
    return dst


def sections(page: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", page)


def test_report_is_self_contained_and_renders_in_chromium(dcgan_run: Path, tmp_path: Path, capsys) -> None:
    run = copy(dcgan_run, tmp_path)
    out = tmp_path / "report.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert f"report: {out}" in capsys.readouterr().out
    page = out.read_text()
    assert "http://" not in page and "https://" not in page and "src=\"data:image/" in page
    assert sections(page)[:2] == ["Verdict", "Config"]
    for title in (
        "Evolution",
        "Losses and D's outputs",
        "What D thinks, epoch by epoch",
        "Evaluation",
        "Ranked gallery",
        "Timing and speed",
    ):
        assert title in sections(page), title
    shown = render(out, tmp_path / "report.png")
    assert not shown["blank"] and shown["broken"] == [] and shown["requests"] == []
    assert shown["images"] >= 6  # grid, GIF, strip, losses, heatmap, gallery
    assert "Healthy: no problem found in 4 steps" in shown["text"] and "D has won" not in shown["text"]
    assert "Not evaluated yet" in shown["text"]


def test_report_of_a_failing_run_opens_with_what_went_wrong(failing_run: Path, tmp_path: Path) -> None:
    run = copy(failing_run, tmp_path)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    first = page.index("<h2>Verdict</h2>")
    verdict = page[first : page.index("<h2>", first + 5)]
    assert "D has won" in verdict and "D has been winning since step" in verdict and "--instance-noise" in verdict
    assert "--lr-g 0.002 (G now learns 20000x slower than D)" in verdict
    shown = render(run / "report.html", tmp_path / "failing.png")
    assert not shown["blank"] and shown["broken"] == []


@pytest.mark.slow
def test_report_shows_the_evaluation_table(dcgan_run: Path, tmp_path: Path) -> None:
    run = copy(dcgan_run, tmp_path)
    assert main(["evaluate", str(run), "--n", "300", "--feature-steps", "60"]) == 0
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    ev = page[page.index("<h2>Evaluation</h2>") :]
    assert "real data" in ev and re.search(r"<td[^>]*>fid300-mnist-5k-cnn@[0-9a-f]{6}</td>", ev)


def test_report_of_an_interrupted_or_still_training_run(failing_run: Path, tmp_path: Path) -> None:
    run = copy(failing_run, tmp_path)
    shutil.rmtree(run / "monitor")  # killed before the pictures were drawn
    for ck in (run / "checkpoints").glob("step-0000040*"):
        ck.unlink()  # ... and before the last checkpoint
    (run / "checkpoints" / "latest.json").unlink()
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "still training, or stopped after the last checkpoint" in page
    assert (run / "monitor" / "losses.png").is_file() and (run / "monitor" / "evolution.gif").is_file()
    young = tmp_path / "young"  # a run that has not written a checkpoint yet
    shutil.copytree(run, young)
    shutil.rmtree(young / "checkpoints")
    assert main(["report", str(young)]) == 0
    assert "no checkpoint yet" in (young / "report.html").read_text()


def test_gallery_ranks_by_d_and_without_d_by_features(dcgan_run: Path, tmp_path: Path, tiny_train, capsys) -> None:
    run = copy(dcgan_run, tmp_path)
    assert main(["report", str(run), "--gallery"]) == 0
    out = capsys.readouterr().out
    assert "ranked by the discriminator's score" in out
    g = np.asarray(Image.open(run / "monitor" / "gallery.png"))
    assert g.shape[0] > 2 * 2 * 56 and g.std() > 0  # two bands of two rows of 8 tiles
    mse = tmp_path / "mse"
    assert tiny_train("--model", "mlp-mse", "--data", "mnist-5k", "--steps", "2", "--out", str(mse)) == 0
    assert not (mse / "monitor" / "d_hist.npz").exists()  # no D: no D monitor
    assert main(["report", str(mse), "--gallery", "--feature-steps", "60"]) == 0
    assert "nearest real image in the evaluation features" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (lambda t: ["report", str(t)], "not a drawlab run"),
        (lambda t: ["report", str(t / "nowhere")], "does not exist"),
        (lambda t: ["report", str(t / "run"), "--out", str(t / "r.pdf")], ".html"),
        (lambda t: ["report", str(t / "run"), "--out", str(t)], "is a folder"),
        (lambda t: ["report", str(t / "run"), "--gallery", "--feature-steps", "0"], "--feature-steps"),
    ],
)
def test_report_bad_input_is_one_line(args, message, dcgan_run: Path, tmp_path: Path, capsys) -> None:
    shutil.copytree(dcgan_run, tmp_path / "run")
    (tmp_path / "empty").mkdir()
    argv = args(tmp_path / "empty") if "not a drawlab" in message else args(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("drawlab: error: ") and message in err[0], err


def test_verdicts_file_is_one_json_line_each(failing_run: Path) -> None:
    lines = (failing_run / "monitor" / "verdicts.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert recs and all({"kind", "step", "since", "what", "try"} <= set(r) for r in recs)


def test_the_logs_event_records_are_not_counted_as_training_intervals(tmp_path: Path) -> None:
    """A NaN rollback's event record has a step and no loss: the curves must not read it as an interval."""
    from drawlab.records.figures import read_log
    from drawlab.run import RunDir

    (tmp_path / "metrics.jsonl").write_text(
        json.dumps({"step": 10, "loss_g": 1.0, "loss_d": 0.5})
        + "\n"
        + json.dumps({"step": 12, "event": "nan-rollback", "at_step": 12, "to_step": 10})
        + "\n"
        + json.dumps({"step": 20, "eval": True, "fid": 3.0})
        + "\n"
    )
    log = read_log(RunDir(tmp_path))
    assert [r["step"] for r in log["train"]] == [10]
    assert [r["step"] for r in log["event"]] == [12] and [r["step"] for r in log["eval"]] == [20]
