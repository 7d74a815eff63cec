"""The kill -9 campaign: runs SIGKILLed at random moments, resumed each time, compared bitwise at the end.

    python benchmarks/kill_campaign.py --kills 100 --models dcgan,cgan,vae --out /tmp/kills

For each model: one uninterrupted run of ``--steps`` steps (a checkpoint every step), then the same run
started and SIGKILLed ``--kills`` times (each launch is killed at a random moment shortly after it wrote
a checkpoint, so many kills land inside a checkpoint write), resumed each time, and finished. Prints
kills, resumes and whether the final checkpoint equals the uninterrupted one bitwise: every weight and
buffer, every optimizer moment, the step and every RNG state (the wall-clock time aside).
tests/test_faults.py runs it with 10 kills on one tiny model.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from drawlab.run import RunDir

TINY = [
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
    "--data",
    "mnist-5k",
    "--checkpoint-every",
    "1",
]


def launch(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(torch.get_num_threads()))}
    env.pop("DRAWLAB_FAULT", None)
    return subprocess.Popen(
        [sys.executable, "-m", "drawlab", "train", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def flat(obj, prefix: str = "") -> dict:
    """A nested state as {path: value}, tensors as (dtype, shape, bytes): equality is bitwise."""
    if isinstance(obj, dict):
        return {k2: v2 for k, v in obj.items() for k2, v2 in flat(v, f"{prefix}{k}/").items()}
    if isinstance(obj, (list, tuple)):
        return {k2: v2 for i, v in enumerate(obj) for k2, v2 in flat(v, f"{prefix}{i}/").items()}
    if torch.is_tensor(obj):
        return {prefix: (obj.dtype, tuple(obj.shape), obj.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())}
    return {prefix: obj}


def bitwise_equal(a: Path, b: Path) -> bool:
    """The newest checkpoints of two runs: the same step, weights, optimizer states and RNG states."""
    ca, cb = RunDir(a).latest_checkpoint(), RunDir(b).latest_checkpoint()
    if ca is None or cb is None or ca.step != cb.step:
        return False
    wa, wb = load_file(str(ca.weights)), load_file(str(cb.weights))
    if wa.keys() != wb.keys() or not all(torch.equal(wa[k], wb[k]) for k in wa):
        return False
    sa, sb = torch.load(ca.state, weights_only=True), torch.load(cb.state, weights_only=True)
    sa.pop("elapsed", None), sb.pop("elapsed", None)
    return flat(sa) == flat(sb)


def _checkpoint_mark(run: Path) -> float:
    latest = run / "checkpoints" / "latest.json"
    return latest.stat().st_mtime_ns if latest.is_file() else 0


def campaign(out: Path, model: str, kills: int, steps: int, seed: int = 0) -> dict:
    """Kill a run ``kills`` times, resume it, finish it; compare with an uninterrupted run."""
    rng = random.Random(seed)
    whole, run = out / f"{model}-whole", out / f"{model}-killed"
    args = [*TINY, "--model", model, "--steps", str(steps)]
    from drawlab.cli import main  # the uninterrupted run, in this process

    assert main(["train", *args, "--out", str(whole)]) == 0
    done, resumes = 0, 0
    while done < kills:
        started = (run / "config.json").is_file()
        resumes += started
        mark = _checkpoint_mark(run)
        p = launch(
            ["--resume", str(run), "--steps", str(steps), "--no-progress"] if started else [*args, "--out", str(run)]
        )
        deadline = time.time() + 120
        while p.poll() is None and _checkpoint_mark(run) == mark and time.time() < deadline:
            time.sleep(0.01)  # until this launch writes a checkpoint
        time.sleep(rng.uniform(0.0, 0.05))  # then a random moment: often inside the next write
        if p.poll() is not None:  # it finished first: begin the run again
            assert p.returncode == 0, p.stderr.read()
            import shutil

            shutil.rmtree(run)
            continue
        p.send_signal(signal.SIGKILL)
        p.wait()
        done += 1
    p = launch(["--resume", str(run), "--steps", str(steps), "--no-progress"])
    assert p.wait() == 0, p.stderr.read()
    return {
        "model": model,
        "kills": done,
        "resumes": resumes + 1,
        "steps": steps,
        "bitwise_equal": bitwise_equal(run, whole),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--models", default="dcgan,cgan,vae")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"cpu threads {torch.get_num_threads()}, torch {torch.__version__}")
    print("| model | kills | resumes | steps | bitwise equal |\n| --- | --- | --- | --- | --- |")
    ok = True
    for m in a.models.split(","):
        t = time.time()
        r = campaign(a.out, m, a.kills, a.steps)
        ok &= r["bitwise_equal"]
        print(
            f"| {m} | {r['kills']} | {r['resumes']} | {r['steps']} | {'yes' if r['bitwise_equal'] else 'NO'} | "
            f"({time.time() - t:.0f} s)",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
