"""Which method fails least: each family and loss of the ladder over seeds x learning rates (the preset's,
2x, 4x) at one CPU budget, ONE thread per run, two side by side; a run fails when a verdict fires (D won,
collapse, NaN, frozen, no progress; evaluate's not learnt) or its FID is above a threshold. The table
counts the failures, gives the FID spread of the rest and when the first verdict fired (step and CPU
minutes: how early a failing run can be recognised).

    python benchmarks/failures.py --out /tmp/fail --minutes 2 --seeds 0,1,2,3,4 --lrs 1,2,4 [--eval-n 1000]
    python benchmarks/failures.py --out /tmp/fail --table [--fid-above 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from drawlab.metrics.verdict import not_learnt
from ladder import metric
from quality_curve import minutes_at
from runner import Job, run_queue

METHODS: dict[str, tuple[list[str], float]] = {  # `drawlab train` options and the preset's learning rate
    "gan": (["--preset", "mnist-dcgan", "--model", "gan"], 4e-4),
    "dcgan": (["--preset", "mnist-dcgan"], 4e-4),
    "dcgan-hinge-sn": (["--preset", "mnist-dcgan", "--loss", "hinge", "--spectral-norm", "d"], 4e-4),
    "dcgan-wgan-gp": (["--preset", "mnist-dcgan", "--loss", "wgan-gp"], 4e-4),
    "dcgan-r1": (["--preset", "mnist-dcgan", "--r1", "1"], 4e-4),
    "cgan": (["--preset", "mnist-cgan", "--batch-size", "32"], 4e-4),
    "msggan": (["--preset", "mnist-dcgan", "--model", "msggan"], 4e-4),
    "flow": (["--preset", "mnist-flow"], 1e-3),
    # the two the faces article compares, at the cGAN's batch (mnist-dcgan's 128 makes too few steps in 2 minutes)
    "dcgan-b32": (["--preset", "mnist-dcgan", "--batch-size", "32"], 4e-4),
    "msggan-b32": (["--preset", "mnist-dcgan", "--model", "msggan", "--batch-size", "32"], 4e-4),
}
FAILS = ("d-wins", "collapse", "nan", "frozen", "no-progress")  # the training watchers'; then evaluate's not-learnt


def run_dir(out: Path, method: str, lr_x: float, seed: int) -> Path:
    return out / "runs" / f"{method}-lr{lr_x:g}x-s{seed}"


def first_verdict(run: Path) -> dict | None:
    """The first failing verdict of a run (kind, step, minutes), or None."""
    f = run / "monitor" / "verdicts.jsonl"
    if not f.exists():
        return None
    found = [json.loads(line) for line in f.read_text().splitlines()]
    found = sorted((v for v in found if v["kind"] in FAILS), key=lambda v: v["step"])
    if not found:
        return None
    v = found[0]
    return {"kind": v["kind"], "step": v["step"], "minutes": minutes_at(run, v["step"])}


def table(out: Path, fid_above: float) -> str:
    head = [
        "method",
        "lr",
        "runs",
        "steps (median)",
        "FID of all: median",
        "failed",
        "how",
        "FID of the rest: median (range)",
        "first verdict: step, min",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    groups: dict[tuple[str, str], list[Path]] = {}
    for ev in sorted((out / "runs").glob("*/eval.json")):
        method, lr, _ = ev.parent.name.rsplit("-", 2)
        groups.setdefault((method, lr), []).append(ev.parent)
    order = list(METHODS)
    for (method, lr), runs in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        fails, fids, when, steps, every = [], [], [], [], []
        for run in runs:
            rec = json.loads((run / "eval.json").read_text())
            fid = metric(rec, "fid")["value"]
            steps.append(rec["step"])
            every.append(fid)
            v = first_verdict(run)
            if v is not None:
                fails.append(v["kind"])
                when.append(f"{v['step']:,}, {v['minutes']:.1f}" if v["minutes"] is not None else f"{v['step']:,}")
            elif not_learnt(rec) is not None:  # computed here too: runs evaluated before evaluate recorded it
                fails.append("not-learnt")
            elif fid > fid_above:
                fails.append(f"FID > {fid_above:g}")
            else:
                fids.append(fid)
        spread = "-" if not fids else f"{statistics.median(fids):.1f} ({min(fids):.1f}-{max(fids):.1f})"
        how = ", ".join(f"{k} x{fails.count(k)}" for k in sorted(set(fails))) or "-"
        rows.append(
            f"| {method} | {lr.removeprefix('lr')} | {len(runs)} | {statistics.median(steps):,.0f} | "
            f"{statistics.median(every):.1f} | {len(fails)} | {how} | {spread} | {'; '.join(when) or '-'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--lrs", default="1,2,4", help="multiples of the preset's learning rate")
    ap.add_argument("--methods", nargs="+", default=list(METHODS)[:8], choices=list(METHODS))
    ap.add_argument("--data", default="mnist-5k")
    ap.add_argument("--fid-above", type=float, default=100.0, help="a run without a verdict fails above this FID")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--eval-n", type=int, default=1000, help="images per `drawlab evaluate` (default 1000)")
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args(argv)
    if not a.table:
        jobs = []
        for seed in (int(s) for s in a.seeds.split(",")):
            for lr_x in (float(x) for x in a.lrs.split(",")):
                for m in a.methods:
                    opts, lr = METHODS[m]
                    jobs.append(
                        Job(
                            run_dir(a.out, m, lr_x, seed),
                            [*opts, "--data", a.data, "--lr", f"{lr * lr_x:g}", "--seed", str(seed)],
                            ["--minutes", f"{a.minutes:g}"],
                        )
                    )
        run_queue(a.out / "logs", jobs, parallel=a.parallel, eval_args=("--n", str(a.eval_n)))
    text = table(a.out, a.fid_above)
    (a.out / "failures.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
