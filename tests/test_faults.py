"""Nothing lost: faults injected through DRAWLAB_FAULT (drawlab/faults.py) and kill -9 at random moments.

Every crash leaves a loadable newest checkpoint, and the resumed run ends bitwise equal (every weight,
optimizer moment and RNG state) to a run that was never interrupted.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY, resume_to, tiny_cfg, train
from drawlab import faults
from drawlab.cli import main
from drawlab.errors import ConfigError, NumericsError
from drawlab.files import read_jsonl
from drawlab.run import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import kill_campaign
from kill_campaign import bitwise_equal

ARGS = [*TINY, "--model", "dcgan", "--data", "mnist-5k", "--checkpoint-every", "2"]


@pytest.fixture(autouse=True)
def _no_faults():
    faults.plan("")
    yield
    faults.plan(None)


def errors(capsys) -> list[str]:
    """The error lines printed (the run's own progress lines aside); never a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [ln for ln in err.splitlines() if ln.startswith("drawlab: error")]


def test_fault_specs_parse_and_a_bad_one_says_what_is_allowed() -> None:
    assert faults.parse("nan@5, crash@checkpoint-rename,enospc@grid") == (
        faults.Fault("nan", "5"),
        faults.Fault("crash", "checkpoint-rename"),
        faults.Fault("enospc", "grid"),
    )
    assert faults.parse("") == ()
    for bad in ("nan", "nan@x", "boom@grid", "crash@", "@grid"):
        with pytest.raises(ConfigError, match="KIND@WHERE"):
            faults.parse(bad)


# -- numbers that go wrong ---------------------------------------------------------------------------
def test_nan_rolls_back_to_the_last_good_checkpoint_with_lower_learning_rates(tmp_path: Path) -> None:
    faults.plan("nan@13")
    cfg = tiny_cfg("mnist-5k", steps=30, checkpoint_every=5, log_every=5)
    lr_g, lr_d = cfg.model.lr_g, cfg.model.lr_d
    res, lines = train(cfg, tmp_path / "r")
    assert res.step == 30
    said = [ln for ln in lines if "rolled back" in ln]
    assert len(said) == 1 and "step 10" in said[0] and "0.5" in said[0], lines
    run = RunDir(tmp_path / "r")
    cfg2, facts = run.read_config()
    assert [r["to_step"] for r in facts["nan_rollbacks"]] == [10]
    assert cfg2.model.lr_g == pytest.approx(lr_g * 0.5) and cfg2.model.lr_d == pytest.approx(lr_d * 0.5)
    events = [r for r in read_jsonl(run.metrics) if r.get("event") == "nan-rollback"]
    assert len(events) == 1 and events[0]["step"] == 10
    assert not any(isinstance(v, float) and not math.isfinite(v) for r in read_jsonl(run.metrics) for v in r.values())
    for ck in run.list_checkpoints():  # no checkpoint holds a non-finite number
        assert all(torch.isfinite(t).all() for t in load_file(str(ck.weights)).values() if t.is_floating_point())
    from drawlab.api import load

    assert torch.isfinite(load(tmp_path / "r").sample_tensor(8)[0].float()).all()  # the run still samples


def test_on_nan_stop_is_one_line_and_exit_3(tmp_path: Path, capsys) -> None:
    faults.plan("nan@3")
    assert main(["train", *ARGS, "--steps", "10", "--on-nan", "stop", "--out", str(tmp_path / "r")]) == 3
    err = errors(capsys)
    assert len(err) == 1 and "diverged" in err[0] and "--on-nan stop" in err[0]
    assert RunDir(tmp_path / "r").latest_checkpoint().step == 2  # the good checkpoint stands
    faults.plan("")
    assert (
        main(["train", "--resume", str(tmp_path / "r"), "--steps", "4", "--on-nan", "rollback", "--no-progress"]) == 0
    )  # a runtime choice: a resume may change it


def test_after_three_rollbacks_the_run_stops_with_what_to_try(tmp_path: Path) -> None:
    faults.plan("nan@7,nan@12,nan@17,nan@22")
    cfg = tiny_cfg("mnist-5k", steps=30, checkpoint_every=5, log_every=5)
    with pytest.raises(NumericsError, match="after 3 rollbacks.*lower the learning rates"):
        train(cfg, tmp_path / "r")
    _, facts = RunDir(tmp_path / "r").read_config()
    assert len(facts["nan_rollbacks"]) == 3


def test_a_nan_rollback_is_a_verdict_and_the_report_never_calls_the_run_healthy(tmp_path: Path) -> None:
    from drawlab.records.verdicts import Kind
    from drawlab.records.verdicts import read as read_verdicts

    faults.plan("nan@5")
    run = tmp_path / "r"
    res, _ = train(tiny_cfg("mnist-5k", steps=8, checkpoint_every=2, log_every=1), run)
    assert res.step == 8
    found = read_verdicts(run / "monitor" / "verdicts.jsonl")
    nan = [v for v in found if v.kind is Kind.NAN]
    assert len(nan) == 1 and nan[0].step == 4 and "went back to step 4" in nan[0].what, found
    page = tmp_path / "report.html"
    assert main(["report", str(run), "--out", str(page)]) == 0
    html = page.read_text()
    assert "Healthy" not in html and "training diverged" in html
    faults.plan("nan@3")  # and a run stopped by --on-nan stop says so in its verdicts too
    assert main(["train", *ARGS, "--steps", "6", "--on-nan", "stop", "--out", str(tmp_path / "s")]) == 3
    stopped = read_verdicts(tmp_path / "s" / "monitor" / "verdicts.jsonl")
    assert [v.kind for v in stopped] == [Kind.NAN] and "--on-nan stop" in stopped[0].what


# -- the disk ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault, words",
    [
        ("enospc@checkpoint", "disk is full"),
        ("erofs@grid", "read-only"),
        ("enospc@log", "disk is full"),
        ("erofs@latest", "read-only"),
    ],
)
def test_a_full_or_read_only_disk_is_one_line_and_the_last_checkpoint_stands(
    tmp_path: Path, capsys, fault, words
) -> None:
    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "4", "--out", str(run)]) == 0
    capsys.readouterr()
    faults.plan(fault)
    assert main(["train", "--resume", str(run), "--steps", "8", "--no-progress"]) == 2
    err = errors(capsys)
    assert len(err) == 1 and words in err[0] and "cannot write" in err[0], err
    ck = RunDir(run).latest_checkpoint()
    assert ck.step >= 4 and load_file(str(ck.weights)) and torch.load(ck.state, weights_only=True)["step"] == ck.step
    assert not list(run.rglob("*.tmp*")), "a temporary file was left behind"
    faults.plan("")
    assert main(["train", "--resume", str(run), "--steps", "8", "--no-progress"]) == 0


def test_a_forbidden_disk_is_one_line_exit_2_and_the_checkpoints_written_stand(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """The run directory becomes forbidden (EACCES) while training: by chmod where that forbids (not root),
    else by a PermissionError from the rename of the checkpoint of step 6, as such a disk gives."""
    import errno
    import stat

    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "4", "--out", str(run)]) == 0
    capsys.readouterr()
    if os.geteuid() != 0:
        ck_dir = run / "checkpoints"
        ck_dir.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:
        real = os.replace

        def forbidden(src, dst, *a, **kw):
            if Path(dst).name.startswith("step-0000006"):
                raise PermissionError(errno.EACCES, "Permission denied", str(dst))
            return real(src, dst, *a, **kw)

        monkeypatch.setattr(os, "replace", forbidden)
    try:
        code = main(["train", "--resume", str(run), "--steps", "8", "--no-progress"])
    finally:
        (run / "checkpoints").chmod(0o755)
    assert code in (2, 3)
    err = errors(capsys)
    assert len(err) == 1 and "permission denied" in err[0] and "cannot write" in err[0], err
    ck = RunDir(run).latest_checkpoint()
    assert ck.step == 4 and load_file(str(ck.weights)) and torch.load(ck.state, weights_only=True)["step"] == 4
    assert not list(run.rglob(".*.tmp*")), "a temporary file was left behind"


# -- crashes -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "r"
    assert main(["train", *ARGS, "--steps", "8", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run stopped at step 4 (copy it before changing it)."""
    out = tmp_path_factory.mktemp("four") / "r"
    assert main(["train", *ARGS, "--steps", "4", "--out", str(out)]) == 0
    return out


CRASH_POINTS = (
    "checkpoint-write",
    "checkpoint-fsync",
    "checkpoint-rename",
    "checkpoint-latest",
    "latest-write",
    "latest-fsync",
    "latest-rename",
    "checkpoint-rotate",
    "config-write",
    "config-rename",
    "grid-write",
    "grid-rename",
    "snapshot-write",
    "snapshot-rename",
    "monitor-write",
    "monitor-rename",
)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_each_step_of_a_write_leaves_a_loadable_checkpoint_and_an_exact_resume(
    tmp_path: Path, uninterrupted: Path, four_steps: Path, point: str
) -> None:
    """The files exactly as a kill -9 at ``point`` leaves them (copied there, in this process), resumed."""
    run, crashed = tmp_path / "r", tmp_path / "crashed"
    shutil.copytree(four_steps, run)
    faults.plan(f"crash@{point}")
    faults.on_crash(lambda name: None if crashed.exists() else shutil.copytree(run, crashed))
    assert main(["train", "--resume", str(run), "--steps", "8", "--no-progress"]) == 0
    assert crashed.is_dir(), f"{point} was never reached"
    faults.plan("")
    ck = RunDir(crashed).latest_checkpoint()
    assert ck is not None and ck.step >= 4
    load_file(str(ck.weights)), torch.load(ck.state, weights_only=True)
    assert main(["report", str(crashed), "--out", str(tmp_path / "report.html")]) == 0  # reads every file left
    assert main(["train", "--resume", str(crashed), "--steps", "8", "--no-progress"]) == 0
    assert bitwise_equal(crashed, uninterrupted)
    assert not list(crashed.rglob(".*.tmp*")), "the resume left a half-written file in place"


@pytest.mark.parametrize("damage", ["torn", "labels out of range"])
def test_a_damaged_fixed_noise_file_is_made_again_from_the_seed(
    tmp_path: Path, uninterrupted: Path, four_steps: Path, damage: str
) -> None:
    from safetensors.torch import save_file

    run = tmp_path / "r"
    shutil.copytree(four_steps, run)
    noise = run / "fixed_noise.safetensors"
    good = noise.read_bytes()
    if damage == "torn":
        noise.write_bytes(good[: len(good) // 2])
    else:  # readable, but not noise this run can use
        t = load_file(str(noise))
        save_file({"z": t["z"], "labels": t["labels"] + 1000}, str(noise))
    assert main(["train", "--resume", str(run), "--steps", "8", "--no-progress"]) == 0
    assert noise.read_bytes() == (uninterrupted / "fixed_noise.safetensors").read_bytes()
    assert bitwise_equal(run, uninterrupted)


def test_drawlab_fault_crash_really_kills_the_process(tmp_path: Path, uninterrupted: Path, four_steps: Path) -> None:
    run = tmp_path / "r"
    shutil.copytree(four_steps, run)
    env = {**os.environ, faults.ENV: "crash@checkpoint-rename", "OMP_NUM_THREADS": str(torch.get_num_threads())}
    p = subprocess.run(
        [sys.executable, "-m", "drawlab", "train", "--resume", str(run), "--steps", "8", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert main(["train", "--resume", str(run), "--steps", "8", "--no-progress"]) == 0
    assert bitwise_equal(run, uninterrupted)


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_ends_bitwise_equal(tmp_path: Path) -> None:
    """The campaign (benchmarks/kill_campaign.py): 10 SIGKILLs at random moments, many inside a checkpoint
    write; resumed each time; bitwise equal to a run of the same length never interrupted."""
    r = kill_campaign.campaign(tmp_path, "dcgan", kills=10, steps=30)
    print(
        f"kill -9 campaign: {r['kills']} kills, {r['resumes']} resumes, bitwise equal: "
        f"{'yes' if r['bitwise_equal'] else 'no'}"
    )
    assert r["kills"] == 10 and r["bitwise_equal"]


# -- the folder ----------------------------------------------------------------------------------------
def test_a_second_trainer_of_the_same_run_is_refused_with_one_line(tmp_path: Path, capsys) -> None:
    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "2", "--out", str(run)]) == 0
    with RunDir(run).lock():  # as if another terminal were training it
        assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 2
        err = errors(capsys)
        assert len(err) == 1 and "is being trained by process" in err[0] and str(os.getpid()) in err[0]
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "2", "--out", str(run)]) == 0
    code = (
        "import os, signal, sys; from drawlab.run import RunDir; RunDir(sys.argv[1]).lock().__enter__(); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    assert subprocess.run([sys.executable, "-c", code, str(run)], timeout=60).returncode == -signal.SIGKILL
    assert (run / ".lock").read_text().strip().isdigit()  # its pid is still written there
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0


def test_after_a_hard_stop_resume_clears_what_lies_past_its_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "6", "--out", str(run)]) == 0
    rd = RunDir(run)
    (rd.checkpoints / "latest.json").write_text(
        '{"step": 2, "weights": "step-0000002.safetensors", "state": "step-0000002.state.pt"}'
    )  # died after step 2's write
    (rd.checkpoints / ".step-0000004.123.tmp.safetensors").write_bytes(b"half")
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0
    assert [c.step for c in rd.list_checkpoints()] == [2, 4]  # the stale step-6 files are gone
    assert rd.latest_checkpoint().step == 4 and not list(run.rglob(".*.tmp*"))
    assert max(int(p.stem.split("-")[1]) for p in rd.samples.glob("step-*.png")) == 4


def test_rotation_never_deletes_the_checkpoint_latest_json_names(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "4", "--out", str(run)]) == 0
    rd = RunDir(run)
    stale = rd.checkpoints / "step-0000099.safetensors"  # a stale, higher-numbered pair
    stale.write_bytes((rd.checkpoints / "step-0000004.safetensors").read_bytes())
    stale.with_name("step-0000099.state.pt").write_bytes((rd.checkpoints / "step-0000004.state.pt").read_bytes())
    rd._rotate(1)
    assert (rd.checkpoints / "step-0000004.safetensors").is_file() and rd.latest_checkpoint().step == 4


# -- nothing executed from files -------------------------------------------------------------------------
class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_whose_pickle_would_run_a_command_is_refused_and_nothing_runs(tmp_path: Path, capsys) -> None:
    run, marker = tmp_path / "r", tmp_path / "pwned"
    assert main(["train", *ARGS, "--steps", "2", "--out", str(run)]) == 0
    torch.save({"step": 2, "optimizers": _Evil(marker)}, RunDir(run).latest_checkpoint().state)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 2
    err = errors(capsys)
    assert len(err) == 1 and "cannot read" in err[0]
    assert main(["report", str(run)]) == 0  # the report reads the state too: still nothing runs
    assert not marker.exists(), "a command from a checkpoint ran"


def test_caches_holding_a_pickle_are_never_unpickled_and_are_rebuilt(tmp_path: Path) -> None:
    """The decoded-images cache (.npy) and a cached feature net (.safetensors), each replaced by a pickle whose
    loading would run a command: both are passed over and rebuilt, and the command never runs."""
    import numpy as np

    from conftest import write_images
    from drawlab.data import open_dataset
    from drawlab.data.cache import cache_files
    from drawlab.data.folder import cache_key
    from drawlab.metrics.features import get_feature_net

    marker, root = tmp_path / "pwned", tmp_path / "root"
    folder = write_images(tmp_path / "imgs", 40, size=12, classes=("a", "b"))
    ds = open_dataset(f"folder:{folder}", root=root)
    npy, _ = cache_files(root, cache_key(ds.fingerprint, folder.resolve()))
    assert npy.is_file()
    np.save(npy, np.array([_Evil(marker)], dtype=object), allow_pickle=True)  # the decoded cache, poisoned
    again = open_dataset(f"folder:{folder}", root=root)
    assert torch.equal(again.images, ds.images) and not marker.exists()
    fn = get_feature_net(ds, root, steps=5)
    weights = (
        next((root / "features").rglob("*.safetensors"))
        if (root / "features").is_dir()
        else next(p for p in root.rglob("*.safetensors"))
    )
    torch.save({"net": _Evil(marker)}, weights)  # the feature net, poisoned
    fn2 = get_feature_net(ds, root, steps=5)  # retrained, not unpickled
    assert fn2.info["name"] == fn.info["name"] and not marker.exists()
    weights.write_bytes(b"\x00" * 7)  # and merely damaged
    assert get_feature_net(ds, root, steps=5).kind == fn.kind and not marker.exists()


# -- found by review -------------------------------------------------------------------------------------
def test_the_library_refuses_to_resume_a_run_with_another_config(tmp_path: Path) -> None:
    from drawlab.training import Trainer

    cfg = tiny_cfg("mnist-5k", steps=2)
    train(cfg, tmp_path / "r")
    other = tiny_cfg("mnist-5k", steps=4)
    other.model.width = 16
    with pytest.raises(ConfigError, match="model.width"):
        Trainer(other, tmp_path / "r", resume=True, progress=False, echo=lambda s: None)
    assert RunDir(tmp_path / "r").read_config()[0].model.width == 8  # config.json untouched


def test_the_trainer_leaves_the_callers_random_state_alone_and_does_not_depend_on_it(tmp_path: Path) -> None:
    """A library user's global generator is neither reseeded nor consumed by building or training a run,
    and what a run draws depends on its seed alone, not on what the caller drew before."""
    from drawlab.training import Trainer

    weights = []
    for caller_seed in (123, 456):
        torch.manual_seed(caller_seed)
        before = torch.get_rng_state()
        t = Trainer(tiny_cfg("mnist-5k", steps=3), tmp_path / f"r{caller_seed}", progress=False, echo=lambda s: None)
        assert torch.equal(torch.get_rng_state(), before), "building a Trainer changed the caller's random state"
        t.train()
        assert torch.equal(torch.get_rng_state(), before), "training changed the caller's random state"
        weights.append(load_file(str(RunDir(tmp_path / f"r{caller_seed}").latest_checkpoint().weights)))
    assert weights[0].keys() == weights[1].keys() and all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_resume_on_changed_data_records_the_history_and_evaluate_says_so(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert main(["train", *ARGS, "--steps", "2", "--out", str(run)]) == 0
    d = json.loads((run / "config.json").read_text())
    d["facts"]["data_fingerprint"], d["facts"]["data_size"] = "older-data", 60000
    (run / "config.json").write_text(json.dumps(d))
    res, lines = resume_to(run, steps=4)
    assert any("data changed" in ln for ln in lines)
    _, facts = RunDir(run).read_config()
    assert facts["data_history"] == [
        {"data_name": "mnist-5k", "data_size": 60000, "data_fingerprint": "older-data", "until_step": 2}
    ]
    assert facts["data_fingerprint"] != "older-data"
    res, lines = resume_to(run, steps=6)  # the history stays, and grows only on a change
    assert len(RunDir(run).read_config()[1]["data_history"]) == 1
