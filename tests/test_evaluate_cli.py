"""`drawlab evaluate` and `drawlab compare` end to end on tiny runs (small n, a tiny feature net)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from drawlab.cli import main
from drawlab.records import verdicts

pytestmark = pytest.mark.slow  # full evaluations of real runs

FEATURE_STEPS = "60"  # the same tiny feature net as tests/test_metrics.py (one cache for the session)
N = "300"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def evaluated(cgan_run: Path, dcgan_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Copies of the shared tiny runs (never change those), evaluated once each."""
    base = tmp_path_factory.mktemp("evaluated")
    runs = {}
    for name, src in (("cgan", cgan_run), ("dcgan", dcgan_run)):
        dst = base / name
        shutil.copytree(src, dst)
        extra = ["--json", str(base / f"{name}.json")] if name == "cgan" else []
        assert main(["evaluate", str(dst), "--n", N, "--feature-steps", FEATURE_STEPS, *extra]) == 0
        runs[name] = dst
    return runs


def net(run: Path) -> str:
    """The feature net's part of the run's metric names, e.g. 'mnist-5k-cnn@3fa9c1'."""
    return json.loads((run / "eval.json").read_text())["protocol"]["feature_net"]["tag"]


def test_evaluate_writes_eval_json_with_its_protocol(evaluated: dict[str, Path]) -> None:
    run = evaluated["cgan"]
    rec = json.loads((run / "eval.json").read_text())
    assert rec["format"] == "drawlab-eval-1" and rec["step"] == 4 and rec["model"] == "cgan"
    p = rec["protocol"]
    assert p["n"] == 300 and p["n_requested"] == 300
    assert p["feature_net"]["name"] == "mnist-5k-cnn" and 0 < p["feature_net"]["heldout_accuracy"] <= 1
    tag = net(run)
    assert re.fullmatch(r"mnist-5k-cnn@[0-9a-f]{6}", tag)
    assert p["torch_version"] and p["drawlab_version"] and "disjoint" in p["reference"]
    assert "held-out" in p["memorisation"]["definition"]
    names = set(rec["metrics"])
    for kind in (
        "fid",
        "kid",
        "precision",
        "recall",
        "density",
        "coverage",
        "modes",
        "class-kl",
        "cscore",
        "cond-acc",
        "cas",
        "memorised",
    ):
        assert f"{kind}300-{tag}" in names, kind
    assert "memorised-pixels300" in names
    swd = rec["metrics"]["swd300-lap7"]
    assert swd["value"] > swd["real"] > 0 and set(swd["levels"]) == {"28", "14"}
    cas = rec["metrics"][f"cas300-{tag}"]
    assert 0 <= cas["value"] <= 1 and 0 <= cas["real"] <= 1 and cas["better"] == "higher"
    fid = rec["metrics"][f"fid300-{tag}"]
    assert fid["value"] > fid["real"] >= 0 and fid["spread"] > 0 and fid["better"] == "lower"
    assert any("< 2000" in note for note in rec["notes"])
    for rel in rec["files"].values():
        assert Image.open(run / rel).size[0] > 0
    assert json.loads((run.parent / "cgan.json").read_text()) == rec


def test_evaluate_appends_an_eval_record_to_metrics_jsonl(evaluated: dict[str, Path]) -> None:
    last = json.loads((evaluated["cgan"] / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["eval"] is True and last["step"] == 4 and last["n"] == 300
    fid = f"fid300-{net(evaluated['cgan'])}"
    assert last[fid] > last[fid + "_real"]


def test_evaluate_logs_tensorboard_scalars(evaluated: dict[str, Path]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(evaluated["dcgan"] / "tb"))
    ea.Reload()
    fid = f"eval/fid300-{net(evaluated['dcgan'])}"
    assert fid in ea.Tags()["scalars"] and [e.step for e in ea.Scalars(fid)] == [4]


def test_unconditional_runs_have_no_conditional_accuracy(evaluated: dict[str, Path]) -> None:
    rec = json.loads((evaluated["dcgan"] / "eval.json").read_text())
    assert not any(k.startswith("cond-acc") for k in rec["metrics"])
    assert f"modes300-{net(evaluated['dcgan'])}" in rec["metrics"]


def test_evaluate_prints_a_table_and_says_a_run_has_not_learnt_once(evaluated: dict[str, Path], capsys) -> None:
    """The tiny run (a few steps) draws noise: evaluate's verdict says so, in eval.json, in the table and
    in the run's verdicts (the report's), once however often it is evaluated (this is the second time)."""
    assert main(["evaluate", str(evaluated["dcgan"]), "--n", N, "--feature-steps", FEATURE_STEPS]) == 0
    out = capsys.readouterr().out
    assert f"fid300-{net(evaluated['dcgan'])}" in out and "real data" in out and "±" in out
    assert f"eval: {evaluated['dcgan'] / 'eval.json'}" in out
    rec = json.loads((evaluated["dcgan"] / "eval.json").read_text())
    assert [v["kind"] for v in rec["verdicts"]] == ["not-learnt"]
    assert f"verdict: at step {rec['step']} the run has not learnt its data: recall" in out
    found = verdicts.read(evaluated["dcgan"] / "monitor" / "verdicts.jsonl")
    assert [v.kind for v in found].count(verdicts.Kind.NOT_LEARNT) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "50"], "more samples than feature dimensions"),
        (["--checkpoint", "999"], "no checkpoint '999'"),
        (["--feature-steps", "0"], "--feature-steps: must be in [1,"),
    ],
)
def test_evaluate_bad_input_is_one_line(evaluated: dict[str, Path], args, message, capsys) -> None:
    assert main(["evaluate", str(evaluated["dcgan"]), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_evaluate_not_a_run(tmp_path: Path, capsys) -> None:
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a drawlab run" in capsys.readouterr().err


def test_compare_writes_markdown_and_a_chart(evaluated: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmp" / "compare.md"
    assert main(["compare", str(evaluated["cgan"]), str(evaluated["dcgan"]), "--out", str(out)]) == 0
    md = out.read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    assert len(rows) == 3 and "FID" in rows[0] and "cgan" in rows[1] and "dcgan" in rows[2]
    assert "(real " in rows[1] and "[grid](" in rows[1]
    cols = [c.strip() for c in rows[0].strip("|").split("|")]
    cells = [c.strip() for c in rows[1].strip("|").split("|")]
    assert cells[cols.index("training")].endswith(" min") and float(cells[cols.index("training")].split()[0]) >= 0
    assert cells[cols.index("sampling")].endswith("CPU-s/1k")  # a GAN: one forward pass, no sampler named
    link = rows[1].split("[grid](")[1].split(")")[0]
    assert (out.parent / link).is_file()
    assert Image.open(out.with_suffix(".png")).size[0] > 100
    assert "chart:" in capsys.readouterr().out


def test_compare_cells_for_training_minutes_and_sampling_cost() -> None:
    from drawlab.metrics.compare import sampling_cell, training_cell

    assert training_cell({"training_seconds": 90.0}) == "1.5 min" and training_cell({}) == "-"
    flow = {"protocol": {"sampling": {"sampler": "euler", "steps": 20, "cpu_seconds_per_1k": 51.0}}}
    assert sampling_cell(flow) == "51 CPU-s/1k (euler 20)"
    flow["protocol"]["sampling"]["guidance"] = 1.5
    assert sampling_cell(flow) == "51 CPU-s/1k (euler 20 cfg 1.5)"  # guided: two network passes a step
    gan = {"protocol": {"sampling": {"sampler": "one forward pass", "gpu_seconds_per_1k": 0.0123}}}
    assert sampling_cell(gan) == "0.0123 GPU-s/1k" and sampling_cell({"protocol": {}}) == "-"


def test_compare_never_draws_a_missing_value_as_zero_and_flags_other_protocols(
    evaluated: dict[str, Path], tmp_path: Path
) -> None:
    import math

    from drawlab.metrics.compare import bar_values
    from drawlab.records.evals import read_eval

    recs = [read_eval(evaluated["cgan"]), read_eval(evaluated["dcgan"])]
    vals, _, _ = bar_values(recs, "cond-acc")
    assert not math.isnan(vals[0]) and math.isnan(vals[1])  # dcgan has no conditional accuracy
    other = tmp_path / "other"
    other.mkdir()
    rec = read_eval(evaluated["dcgan"])
    rec["protocol"]["feature_net"]["train_steps"] += 1  # the same net name, trained differently
    (other / "eval.json").write_text(json.dumps(rec))
    out = tmp_path / "c.md"
    assert main(["compare", str(evaluated["dcgan"]), str(other), "--out", str(out)]) == 0
    assert "different protocols" in out.read_text()


def test_compare_needs_evaluated_runs(evaluated: dict[str, Path], cgan_run: Path, capsys) -> None:
    assert main(["compare", str(evaluated["cgan"]), str(cgan_run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"run drawlab evaluate {cgan_run} first" in err
