"""Data-parallel equivalence: the same run trained by W processes under torchrun (gloo, CPU) and by one
process with the same global batch, compared checkpoint by checkpoint; a figure of both runs' losses and
of the largest weight difference between them.

    python benchmarks/ddp_equivalence.py --out /tmp/ddp [--model gan] [--steps 300] [--processes 2]

Both runs stop and resume every steps/10 steps (so resume is in the comparison too). Writes OUT/one, OUT/ddp
(the runs; OUT/ddp.log is the 2-process run's log), OUT/equivalence.png and prints a table. Run it on a
fresh OUT. Models with BatchNorm (dcgan, cgan) differ by their per-process batch statistics: try
`--model cgan` to see how much.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from safetensors.torch import load_file

from drawlab.device import cpu_model


def train(out: Path, processes: int, opts: list[str], steps: int) -> Path:
    """Train (or resume) ``out`` to ``steps`` with ``processes`` processes; returns a copy of that checkpoint."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["train", "--no-progress", "--steps", str(steps)]
    args += ["--resume", str(out)] if (out / "config.json").is_file() else [*opts, "--out", str(out)]
    cmd = [sys.executable, "-m", "drawlab", *args]
    if processes > 1:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={processes}",
            "-m",
            "drawlab",
            *args,
        ]
    with open(f"{out}.log", "a") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    kept = out.parent / f"{out.name}-kept" / f"step-{steps:07d}.safetensors"
    kept.parent.mkdir(exist_ok=True)
    shutil.copyfile(out / "checkpoints" / f"step-{steps:07d}.safetensors", kept)
    return kept


def losses(run: Path) -> tuple[list[int], list[float], list[float]]:
    steps, d, g = [], [], []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "loss_d" in r and "loss_g" in r:
            steps.append(r["step"])
            d.append(r["loss_d"])
            g.append(r["loss_g"])
    return steps, d, g


def max_diff(a: Path, b: Path) -> tuple[float, float]:
    """(largest |difference| over all weights, largest |weight|) of two checkpoints."""
    wa, wb = load_file(str(a)), load_file(str(b))
    diff = max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa if wa[k].is_floating_point())
    return diff, max(float(v.float().abs().max()) for v in wa.values() if v.is_floating_point())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="gan")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--processes", type=int, default=2)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    every = max(1, a.steps // 10)
    opts = ["--model", a.model, "--data", "mnist-5k", "--batch-size", "64", "--device", "cpu", "--precision", "fp32"]
    print(
        f"# {cpu_model()}, torch {torch.__version__}: {a.model}, global batch 64, {a.processes} processes vs 1, "
        f"each resumed every {every} steps"
    )
    print("| step | max weight difference | largest weight |\n| --- | --- | --- |")
    xs, ds = [], []
    for step in range(every, a.steps + 1, every):
        one, ddp = train(a.out / "one", 1, opts, step), train(a.out / "ddp", a.processes, opts, step)
        d, big = max_diff(one, ddp)
        xs.append(step)
        ds.append(d)
        print(f"| {step} | {d:.2e} | {big:.2f} |", flush=True)
    fig, (l, r) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, style in (("one", "-"), ("ddp", "--")):
        s, d, g = losses(a.out / name)
        label = "1 process" if name == "one" else f"{a.processes} processes"
        l.plot(s, d, style, label=f"D loss, {label}")
        l.plot(s, g, style, label=f"G loss, {label}")
    l.set_xlabel("step")
    l.set_title(f"{a.model}: losses (global batch 64)")
    l.legend(fontsize=7)
    r.semilogy(xs, [max(d, 1e-10) for d in ds], "o-")
    r.set_xlabel("step")
    r.set_title("largest |weight difference|, 1 vs 2 processes")
    fig.tight_layout()
    fig.savefig(a.out / "equivalence.png", dpi=110)
    print(f"figure: {a.out / 'equivalence.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
