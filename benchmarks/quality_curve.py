"""Quality against CPU time from a run's snapshots: FID in the data's feature net and SWD (no trained net) of
the sampling generator at each kept snapshot, beside the CPU minutes the run had spent by then, and the
conditional accuracy (the share of samples the data's classifier reads as the label asked) for labelled runs.

    python benchmarks/quality_curve.py RUN [RUN ...] [--n 5000] [--steps 500,1000,2000 | --from 100]
        [--json CURVES --data-name "mnist-5k" --machine "AMD EPYC Zen 5, one thread"]

The minutes of a snapshot come from the run's log (the step's wall time since the run began, resumes
included, pauses excluded: the log's img/s), so run it on runs trained one thread each for core-minutes.
Same protocol as `drawlab evaluate` (real sets A and B, seed 0, classes balanced), so the last point of a
run equals its eval.json up to the bootstrap. `--json` adds each run's curve to the file `drawlab train`
forecasts from (src/drawlab/training/curves.json; training/forecast.py), replacing that preset and batch's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

from drawlab.api import load
from drawlab.data import default_data_root, open_configured
from drawlab.device import cpu_model
from drawlab.metrics import frechet, swd
from drawlab.metrics.evaluate import generate, plan_n
from drawlab.metrics.features import FEATURE_DIM, get_feature_net
from drawlab.metrics.inputs import real_sets
from drawlab.training.forecast import recipe_id

READS_AS_ASKED = 0.9  # the milestone of a labelled run: this share of its samples read as the label asked


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


def curve_of(run: Path, n: int, steps: list[int] | None, first: int = 500) -> dict:
    """The run's points (step, minutes, FID, SWD, conditional accuracy or None) and what they were measured in."""
    drawer = load(run)
    cfg = drawer.config
    ds = open_configured(cfg.data, str(cfg.data.root or default_data_root()))
    fnet = get_feature_net(ds, cfg.data.root or default_data_root())
    n, _ = plan_n(n, len(ds), FEATURE_DIM)  # as evaluate: at most half the data, the other half is real set B
    real_a, real_b = real_sets(ds, fnet, n, 0)
    snaps = sorted(int(p.stem.split("-")[1]) for p in run.joinpath("snapshots").glob("step-*.safetensors"))
    points = []
    for step in steps or [s for s in snaps if s >= first]:
        d = drawer.at_snapshot(step)
        fake, asked = generate(d.family, cfg.model.z_dim, n, 0)
        fid = frechet.fid(fnet.features(fake), real_a.features)
        acc = None
        if d.family.conditional and fnet.is_classifier and d.family.num_classes == fnet.num_classes:
            acc = float((fnet.probs(fake).argmax(1) == asked.numpy()).mean())
        points.append([step, minutes_at(run, step), fid, swd.swd(fake, real_a.images).value, acc])
        print(f"| {run.name} | {step} | {points[-1][1]:.1f} | {fid:.1f} | {points[-1][3]:.0f} | {acc} |", flush=True)
    floor = frechet.fid(real_b.features, real_a.features)
    return {"cfg": cfg, "metric": f"fid{n / 1000:g}k-{fnet.tag}", "floor": floor, "points": points}


def as_forecast(c: dict, data_name: str, machine: str) -> dict:
    """The entry of curves.json for one measured run (training/forecast.py reads it)."""
    cfg, pts = c["cfg"], c["points"]
    reached = [p[0] for p in pts if p[4] is not None and p[4] >= READS_AS_ASKED]
    milestone = (
        {"step": reached[0], "words": f"{READS_AS_ASKED:.0%} of drawn images read as the label asked"}
        if reached
        else None
    )
    return {
        "preset": cfg.preset,
        "recipe": recipe_id(cfg.preset),
        "batch": cfg.batch_size,
        "data": data_name,
        "metric": c["metric"],
        "floor": round(c["floor"], 3),
        "machine": machine,
        "date": datetime.date.today().isoformat(),
        "points": [[p[0], round(p[2], 2)] for p in pts],
        "milestone": milestone,
    }


def dumps(doc: dict) -> str:
    """curves.json's text: one curve a line."""
    head = {k: v for k, v in doc.items() if k != "curves"}
    lines = ",\n".join("  " + json.dumps(c) for c in doc["curves"])
    return json.dumps(head)[:-1] + (", " if head else "") + '"curves": [\n' + lines + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--steps", help="snapshot steps to measure (default: every snapshot from --from on)")
    ap.add_argument("--from", dest="first", type=int, default=500, help="the first snapshot step measured")
    ap.add_argument("--json", type=Path, help="add the runs' curves to this curves.json")
    ap.add_argument("--data-name", default="", help="the data in words, for --json (default: the run's data spec)")
    ap.add_argument("--machine", default="", help="the machine and threads in words, for --json")
    a = ap.parse_args(argv)
    print(f"# {cpu_model()}, torch {torch.__version__}")
    print("| run | step | CPU minutes | FID | SWD | cond. acc. |\n| --- | --- | --- | --- | --- | --- |")
    steps = [int(s) for s in a.steps.split(",")] if a.steps else None
    for run in a.runs:
        c = curve_of(run, a.n, steps, a.first)
        print(f"# {run.name}: {c['metric']}, real data {c['floor']:.2f}")
        if a.json:
            entry = as_forecast(c, a.data_name or c["cfg"].data.spec, a.machine or cpu_model())
            doc = json.loads(a.json.read_text()) if a.json.exists() else {"curves": []}
            keep = [e for e in doc["curves"] if (e["preset"], e["batch"]) != (entry["preset"], entry["batch"])]
            doc["curves"] = sorted(keep + [entry], key=lambda e: (e["preset"], e["batch"]))
            a.json.write_text(dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
