"""Which stabilising tricks help? The same model and CPU budget with each trick on and off, scored by
`drawlab evaluate`.

    python benchmarks/tricks_ablation.py --out /tmp/abl2                 # train + evaluate (restartable)
    python benchmarks/tricks_ablation.py --out /tmp/abl2 --table         # the Markdown table only

Models: the presets mnist-dcgan and mnist-cgan on mnist-5k; seeds 0 and 1. Budget: "3 CPU minutes"
as a step count per model, measured on the machine at hand with 2 threads on a quiet machine
(``--dcgan-steps``/``--cgan-steps``: steps one 3-minute run made), so that runs are immune to CPU
contention and can run two at a time (1 thread each). A trick that costs more per step gets fewer
steps: ``--g-steps 2`` x 1/1.55 (measured: 0.270 vs 0.174 s/step), ``--d-pretrain-steps 100``
+28 steps (its D-only steps cost 0.72 of a full one); the others cost the same within noise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from runner import Job, run_queue

CONFIGS: dict[str, tuple[list[str], float, int]] = {  # name: (options, step factor, extra steps)
    "baseline": ([], 1.0, 0),
    "d-pretrain": (["--d-pretrain-steps", "100"], 1.0, 28),
    "g-steps2": (["--g-steps", "2"], 1 / 1.55, 0),
    "swap": (["--swap-real-fraction", "0.2", "--swap-until-epoch", "5"], 1.0, 0),
    "flip": (["--flip-labels", "0.05"], 1.0, 0),
    "inst-noise": (["--instance-noise", "0.1"], 1.0, 0),
    "smooth": (["--label-smoothing", "0.1"], 1.0, 0),
}
KEYS = ("fid", "precision", "recall", "coverage", "modes", "cond-acc")


def jobs(out: Path, budgets: dict[str, int], seeds: list[int], configs: list[str]) -> list[Job]:
    """A job for every seed, model and config, seed by seed."""
    out_jobs = []
    for seed in seeds:
        for model, base in budgets.items():
            for name in configs:
                opts, factor, extra = CONFIGS[name]
                steps = round(base * factor) + extra
                run = out / "runs" / f"{model}-{name}-s{seed}"
                out_jobs.append(
                    Job(
                        run,
                        ["--preset", f"mnist-{model}", "--data", "mnist-5k", "--seed", str(seed), *opts],
                        ["--steps", str(steps)],
                    )
                )
    return out_jobs


def _metric(rec: dict, key: str) -> tuple[float | None, float | None]:
    """(value, real-data value) of the metric whose name starts with ``key`` + a digit."""
    for name, e in rec["metrics"].items():
        if name.startswith(key) and name[len(key) : len(key) + 1].isdigit():
            return e["value"], e.get("real")
    return None, None


def table(out: Path, configs: list[str]) -> str:
    """Markdown: per model and config, the mean over seeds of each metric, FID per seed and vs baseline."""
    rows = [
        "| model | trick | steps | FID (per seed) | FID - baseline | precision | recall | coverage | modes | cond. acc. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    floor: dict[str, float | None] = {}
    for model in ("dcgan", "cgan"):
        base_fid = None
        for name in configs:
            recs = [
                json.loads((r / "eval.json").read_text())
                for r in sorted((out / "runs").glob(f"{model}-{name}-s*"))
                if (r / "eval.json").is_file()
            ]
            if not recs:
                continue
            vals = {k: [v for v, _ in (_metric(rec, k) for rec in recs) if v is not None] for k in KEYS}
            for k in KEYS:
                if _metric(recs[0], k)[1] is not None:
                    floor[k] = _metric(recs[0], k)[1]
            mean = {k: statistics.mean(v) if v else None for k, v in vals.items()}
            if name == "baseline":
                base_fid = mean["fid"]
            delta = "" if base_fid is None or name == "baseline" else f"{mean['fid'] - base_fid:+.1f}"
            steps = recs[0]["step"]
            cells = [
                model,
                name,
                str(steps),
                f"{mean['fid']:.1f} ({', '.join(f'{v:.1f}' for v in vals['fid'])})",
                delta,
            ]
            cells += [f"{mean[k]:.3f}" if mean[k] is not None else "-" for k in ("precision", "recall", "coverage")]
            cells += [f"{mean['modes']:.1f}", f"{mean['cond-acc']:.3f}" if mean["cond-acc"] is not None else "-"]
            rows.append("| " + " | ".join(cells) + " |")
    rows.append(
        "| real data (floor) | | | "
        + " | ".join(f"{floor[k]:.3f}" if floor.get(k) is not None else "-" for k in ("fid",))
        + " | | "
        + " | ".join(
            f"{floor[k]:.3f}" if floor.get(k) is not None else "-" for k in ("precision", "recall", "coverage")
        )
        + f" | {floor.get('modes', '-')} | "
        + (f"{floor['cond-acc']:.3f}" if floor.get("cond-acc") is not None else "-")
        + " |"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/tricks-ablation"))
    ap.add_argument("--dcgan-steps", type=int, default=888, help="steps of a 3-minute mnist-dcgan run here")
    ap.add_argument("--cgan-steps", type=int, default=730, help="steps of a 3-minute mnist-cgan run here")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--table", action="store_true", help="only print the table of what is evaluated")
    a = ap.parse_args(argv)
    if not a.table:
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "unknown CPU",
        )
        print(f"# tricks ablation on {cpu}, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
        run_queue(
            a.out / "logs",
            jobs(a.out, {"dcgan": a.dcgan_steps, "cgan": a.cgan_steps}, a.seeds, a.configs),
            a.parallel,
            ("--n", "2500"),
        )
    md = table(a.out, a.configs)
    (a.out / "ablation.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
