"""Data-parallel training under torchrun (gloo, 2 CPU processes, a tiny model): the run trains and checkpoints,
equals a 1-process run with the same global batch, resumes on another number of processes with a note, and a
killed process makes the other exit with one line instead of hanging."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY, train_cli
from drawlab.data import Batches, open_dataset
from drawlab.errors import DataError
from drawlab.rng import ShardedGenerator, randn

pytestmark = pytest.mark.slow  # every test here starts two processes

# every random draw of the step is exercised: noise, DiffAugment, instance noise, flipped labels, EMA
ARGS = [
    "--model",
    "gan",
    "--data",
    "mnist-5k",
    "--diffaugment",
    "color,translation,cutout",
    "--instance-noise",
    "0.1",
    "--flip-labels",
    "0.1",
    "--ema",
    "200",
    "--checkpoint-every",
    "3",
]


def torchrun(*args: str, n: int = 2, timeout: float = 240, wait: bool = True, tiny: bool = True):
    """`torchrun --standalone --nproc-per-node n -m drawlab train [TINY] ARGS` in a subprocess."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={n}",
        "-m",
        "drawlab",
        "train",
        *(TINY if tiny else ["--no-progress"]),
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}  # a worker's crash shows its stack
    if not wait:
        return subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def why(stderr: str, keep: int = 3000) -> str:
    """What the workers said, for a failed assertion: the end of stderr before torchrun's own report of a
    failed worker (its traceback and summary, which would otherwise fill the message), so that the worker's
    error, or the stack faulthandler printed when it crashed, shows."""
    cut = stderr.find("failed (exitcode:")
    return stderr[: stderr.rfind("\n", 0, cut) if cut > 0 else len(stderr)][-keep:]


def weights(run: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / f"step-{step:07d}.safetensors"))


def test_the_store_barrier_waits_for_every_process_each_round(monkeypatch) -> None:
    """Two threads stand for two processes on one store: each round returns only once both have arrived,
    the second round as the first (the key's count goes on, the rounds do not run together)."""
    import threading

    import torch.distributed as dist

    from drawlab.training import distributed as dd

    store = dist.HashStore()
    monkeypatch.setattr(dist.distributed_c10d, "_get_default_store", lambda: store)
    came_out: dict[str, list[float]] = {"a": [], "b": []}

    def process(name: str, late: float) -> None:
        for _ in range(2):
            time.sleep(late)
            dd._store_barrier("k", 2)
            came_out[name].append(time.perf_counter())

    t0 = time.perf_counter()
    threads = [threading.Thread(target=process, args=("a", 0.0)), threading.Thread(target=process, args=("b", 0.3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    a, b = came_out["a"], came_out["b"]
    assert len(a) == len(b) == 2
    assert min(a[0], b[0]) - t0 >= 0.29 and min(a[1], b[1]) - t0 >= 0.59  # a waited for b, both rounds


def test_sharded_draws_are_the_rows_of_the_global_draw() -> None:
    whole = ShardedGenerator()
    whole.manual_seed(3)
    parts = []
    for rank in range(2):
        g = ShardedGenerator(rank=rank, world=2)
        g.manual_seed(3)
        parts.append(randn((4, 5), g))
    assert torch.equal(torch.cat(parts), randn((8, 5), whole))
    with pytest.raises(ValueError, match="rank 2"):
        ShardedGenerator(rank=2, world=2)


def test_each_process_gets_its_rows_of_the_same_global_batch() -> None:
    ds = open_dataset("mnist-5k")
    whole = Batches(ds, 12, seed=5).iterate(40)  # resumable: from step 40
    parts = [Batches(ds, 12, seed=5, rank=r, world=3).iterate(40) for r in range(3)]
    for _ in range(3):
        x, y = next(whole)
        shares = [next(p) for p in parts]
        assert all(len(px) == 4 for px, _ in shares)
        assert torch.equal(torch.cat([px for px, _ in shares]), x) and torch.equal(
            torch.cat([py for _, py in shares]), y
        )
    with pytest.raises(DataError, match="multiple of 3"):
        Batches(ds, 13, seed=5, rank=0, world=3)
    # the streaming path's sampler takes the same rows of the same index batches
    from drawlab.data.batches import EpochBatchSampler

    whole_idx = iter(EpochBatchSampler(100, 12, 5, start_step=9))
    shares = [iter(EpochBatchSampler(100, 12, 5, start_step=9, rows=slice(4 * r, 4 * r + 4))) for r in range(3)]
    for _ in range(10):  # across an epoch boundary (8 steps per epoch)
        assert sum((next(it) for it in shares), []) == next(whole_idx)


@pytest.fixture(scope="module")
def ddp6(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 2-process run of 6 steps and its stderr (copy it before changing it)."""
    ddp = tmp_path_factory.mktemp("ddp6") / "ddp"
    res = torchrun(*ARGS, "--steps", "6", "--out", str(ddp))
    assert res.returncode == 0, why(res.stderr)
    return ddp, res.stderr


def test_two_processes_equal_one_with_the_same_global_batch(tmp_path: Path, ddp6) -> None:
    import shutil

    ddp = tmp_path / "ddp"
    shutil.copytree(ddp6[0], ddp)
    assert ddp6[1].count("training gan on mnist-5k") == 1  # rank 0 alone speaks
    assert (ddp / "checkpoints" / "step-0000006.safetensors").is_file()
    assert train_cli(*ARGS, "--steps", "6", "--out", str(tmp_path / "one")) == 0
    a, b = weights(ddp, 6), weights(tmp_path / "one", 6)
    assert a.keys() == b.keys() and any(k.startswith("G_ema") for k in a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    moved = weights(tmp_path / "one", 3)
    assert any(not torch.equal(moved[k], b[k]) for k in b)  # it trained: the comparison means something
    log = [line for line in (ddp / "metrics.jsonl").read_text().splitlines() if '"loss_d"' in line]
    assert log, "rank 0 writes the log"

    # the 2-process run resumes on 1 process, says so, and goes on from step 6
    from drawlab.cli import main

    assert main(["train", "--resume", str(ddp), "--steps", "8", "--no-progress"]) == 0
    assert (ddp / "checkpoints" / "step-0000008.safetensors").is_file()


def test_resume_on_another_world_size_prints_a_note(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert train_cli(*ARGS, "--steps", "3", "--out", str(run)) == 0
    res = torchrun("--resume", str(run), "--steps", "5", tiny=False)
    assert res.returncode == 0, why(res.stderr)
    assert "trained by 1 process(es) and continues on 2" in res.stderr
    assert (run / "checkpoints" / "step-0000005.safetensors").is_file()
    assert res.stdout.count("checkpoint:") == 1  # rank 0 alone reports


def test_a_two_process_run_resumes_on_two_exactly(tmp_path: Path, ddp6) -> None:
    run = tmp_path / "run"
    res = torchrun(*ARGS, "--instance-noise-steps", "6", "--steps", "3", "--out", str(run))  # as ddp6 resolved it
    assert res.returncode == 0, why(res.stderr)
    res = torchrun("--resume", str(run), "--steps", "6", tiny=False)
    assert res.returncode == 0, why(res.stderr)
    assert "continues on" not in res.stderr  # the same number of processes: nothing to note
    a, b = weights(run, 6), weights(ddp6[0], 6)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # as the run never stopped


def signal_one_worker(tmp_path: Path, sig: signal.Signals) -> tuple[int, str]:
    """Start a long 2-process run, wait for its first checkpoint, send ``sig`` to one worker (not torchrun);
    returns torchrun's exit code and stderr once everything has exited (no hang: within the timeout)."""
    p = torchrun(*ARGS, "--steps", "100000", "--out", str(tmp_path / "run"), wait=False)
    try:
        deadline = time.time() + 120
        while not (tmp_path / "run" / "checkpoints" / "latest.json").is_file():
            assert p.poll() is None and time.time() < deadline, "the run did not start"
            time.sleep(0.2)
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        assert len(kids) == 2
        os.kill(max(int(k) for k in kids), sig)  # the second worker started: rank 1 here, any rank will do
        _, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    return p.returncode, err


def test_a_killed_process_makes_the_other_exit_with_one_line(tmp_path: Path) -> None:
    _, err = signal_one_worker(tmp_path, signal.SIGKILL)
    lines = [line for line in err.splitlines() if line.startswith("drawlab:")]
    assert lines, why(err)
    assert "Traceback" not in "\n".join(line for line in err.splitlines() if "drawlab" in line)
    assert (tmp_path / "run" / "checkpoints" / "latest.json").is_file()  # the last checkpoint stands


def test_sigterm_to_one_process_stops_both_at_the_same_step_with_a_checkpoint(tmp_path: Path) -> None:
    code, err = signal_one_worker(tmp_path, signal.SIGTERM)
    assert code == 0, why(err)
    assert "interrupted: step" in err and "continue with: drawlab train --resume" in err
    step = int(err.split("interrupted: step ")[1].split()[0])
    assert (tmp_path / "run" / "checkpoints" / f"step-{step:07d}.safetensors").is_file()


def test_under_torchrun_a_new_run_must_name_its_directory(monkeypatch, capsys) -> None:
    from drawlab.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it; no process group is joined before the check
    assert main(["train", *TINY, "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["drawlab: error: under torchrun every process must name the same run: add --out RUN_DIR"]


@pytest.mark.parametrize("model", ["flow", "ddpm"])
def test_a_denoiser_on_two_processes_equals_one(tmp_path: Path, model: str) -> None:
    """Its noise, times and dropped labels are drawn per image as the GANs' are: 2 x 8 images = 1 x 16.
    Compared after one step: the U-Net's output layer starts at zero, so the next steps' gradients inside it
    are ~1e-8 and Adam turns their rounding into whole learning-rate steps (measured: 6e-6 apart at step 2,
    2e-4 at step 4, for both families, while step 1 agrees to 6e-11)."""
    args = ["--model", model, "--data", "mnist-5k", "--ema", "200", "--sample-steps", "2"]
    res = torchrun(*args, "--steps", "1", "--out", str(tmp_path / "ddp"))
    assert res.returncode == 0, why(res.stderr)
    assert train_cli(*args, "--steps", "1", "--out", str(tmp_path / "one")) == 0
    a, b = weights(tmp_path / "ddp", 1), weights(tmp_path / "one", 1)
    assert a.keys() == b.keys() and any(k.startswith("G_ema") for k in a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-9, msg=k)
    assert float(b["G.out.2.weight"].abs().max()) > 1e-5  # the zero-initialised head moved: it trained
