"""Quality against CPU time from a run's snapshots: FID in the data's feature net and SWD (no trained net) of
the sampling generator at each kept snapshot, beside the CPU minutes the run had spent by then.

    python benchmarks/quality_curve.py RUN [RUN ...] [--n 5000] [--steps 500,1000,2000]

The minutes of a snapshot come from the run's log (the step's wall time since the run began, resumes
included, pauses excluded: the log's img/s), so run it on runs trained one thread each for core-minutes.
Same protocol as `drawlab evaluate` (real set A, seed 0) for the two distances, so the last point of a
run equals its eval.json up to the bootstrap.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from drawlab.api import load
from drawlab.data import default_data_root, open_configured
from drawlab.device import cpu_model
from drawlab.latent import seeded_noise
from drawlab.metrics import frechet, swd
from drawlab.metrics.features import get_feature_net, real_images


def minutes_at(run: Path, step: int) -> float | None:
    """CPU-seconds/60 spent up to ``step``: the sum over the log's intervals of images / (img/s)."""
    t, last = 0.0, 0
    batch = json.loads((run / "config.json").read_text())["train"]["batch_size"]
    for line in (run / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if "img_per_s" not in rec or rec["step"] <= last:
            continue
        t += (rec["step"] - last) * batch / max(rec["img_per_s"], 1e-9)
        last = rec["step"]
        if last >= step:
            return t / 60
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--steps", help="snapshot steps to measure (default: every snapshot from 500 on)")
    a = ap.parse_args(argv)
    print(f"# {cpu_model()}, torch {torch.__version__}")
    print("| run | step | CPU minutes | FID | SWD |\n| --- | --- | --- | --- | --- |")
    for run in a.runs:
        drawer = load(run)
        ds = open_configured(drawer.config.data, str(drawer.config.data.root or default_data_root()))
        fnet = get_feature_net(ds, drawer.config.data.root or default_data_root())
        perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(10_000))
        real = real_images(ds, perm[: a.n].sort().values)
        f_real = fnet.features(real)
        steps = (
            [int(s) for s in a.steps.split(",")]
            if a.steps
            else [s for s in sorted(run.joinpath("snapshots").glob("step-*.safetensors"))]
        )
        steps = [s if isinstance(s, int) else int(s.stem.split("-")[1]) for s in steps]
        for step in [s for s in steps if s >= 500]:
            d = drawer.at_snapshot(step)
            fake = d.family.draw(seeded_noise(a.n, drawer.config.model.z_dim, 0), torch.zeros(a.n, dtype=torch.long))
            fid = frechet.fid(fnet.features(fake), f_real)
            mins = minutes_at(run, step)
            print(f"| {run.name} | {step} | {mins:.1f} | {fid:.1f} | {swd.swd(fake, real).value:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
