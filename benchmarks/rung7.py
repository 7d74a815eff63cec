"""GAN or diffusion, at equal CPU minutes: the default cGAN preset and DCGAN against flow matching and DDPM,
trained for the same wall-clock minutes on ONE thread each (two runs side by side on the two cores), each
scored by `drawlab evaluate` (its default protocol: n = 2,500 on mnist-5k, the data's own feature net).

    python benchmarks/rung7.py --out /tmp/rung7 5:0,1,2 15:0 30:0          # MINUTES:SEEDS, restartable
    python benchmarks/rung7.py --out /tmp/rung7 --models flow cgan 30:0     # only these models
    python benchmarks/rung7.py --out /tmp/rung7 --table                     # table + figure of what is done
    python benchmarks/rung7.py --out /tmp/faces --faces ../shared/data/celeba-10k 10:0 30:0   # the faces presets

Every run starts from its preset (cgan: mnist-cgan, dcgan: mnist-dcgan, flow: mnist-flow, ddpm: mnist-flow's
U-Net and optimiser under the ddpm objective and its sampler, see MODELS), EMA on for all, `--data mnist-5k`,
`--minutes M --seed S` on top. The table gives, per model and budget, the median over seeds and (in
brackets) the range, with the steps trained and the sampling cost (CPU-seconds per 1,000 images, as
evaluate measured it on one thread).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from ladder import metric
from runner import Job, run_queue

# DDPM keeps guidance 1.25 at every step: mnist-flow's interval (2.5 at noise levels 0.55-0.65) is 2 of its 20
# DDIM steps, and drew worse there (FID 15.2 against 13.8, 3 seeds, 2026-12-08), where the flow drew better
DDPM_GUIDANCE = ["--guidance", "1.25", "--guidance-low", "0", "--guidance-high", "1"]
MODELS: dict[str, list[str]] = {  # `drawlab train` options per model, before --minutes/--seed
    "cgan": ["--preset", "mnist-cgan"],
    "dcgan": ["--preset", "mnist-dcgan"],
    "flow": ["--preset", "mnist-flow"],
    "ddpm": ["--preset", "mnist-flow", "--model", "ddpm", "--sampler", "ddim", *DDPM_GUIDANCE],  # eps, cosine
    "ddpm-linear": [
        "--preset",
        "mnist-flow",
        "--model",
        "ddpm",
        "--sampler",
        "ddim",
        "--schedule",
        "linear",
        *DDPM_GUIDANCE,
    ],
    "ddpm-v": ["--preset", "mnist-flow", "--model", "ddpm", "--sampler", "ddim", "--prediction", "v", *DDPM_GUIDANCE],
}
DATA = ["--data", "mnist-5k"]
FACES: dict[str, list[str]] = {  # --faces FOLDER: the 64x64 RGB presets on that folder, evaluated at n = 5,000
    "faces-dcgan": ["--preset", "faces-dcgan"],
    "faces-dcgan-30": ["--preset", "faces-dcgan-30"],
    "faces-flow": ["--preset", "faces-flow"],
}
KINDS = ("fid", "swd", "precision", "recall", "coverage", "memorised", "cond-acc", "cas")
HEADS = ("FID", "SWD", "precision", "recall", "coverage", "memorised", "cond. acc.", "CAS")  # one per KINDS


def run_dir(out: Path, model: str, minutes: float, seed: int) -> Path:
    return out / "runs" / f"{model}-{minutes:g}min-s{seed}"


def parse_budget(text: str) -> tuple[float, list[int]]:
    """'15:0,1,2' -> (15.0, [0, 1, 2]); '5' -> (5.0, [0])."""
    minutes, _, seeds = text.partition(":")
    return float(minutes), [int(s) for s in seeds.split(",")] if seeds else [0]


def summary(values: list[float], pct: bool = False, digits: int = 1) -> str:
    """'median (min-max)' of the seeds' values, or the one value."""
    f = (lambda v: f"{100 * v:.0f}%") if pct else (lambda v: f"{v:.{digits}f}")
    med = statistics.median(values)
    return f(med) if len(values) == 1 else f"{f(med)} ({f(min(values))}-{f(max(values))})"


def records(out: Path) -> dict[tuple[str, float], list[dict]]:
    """(model, minutes) -> the eval.json of each evaluated seed."""
    found: dict[tuple[str, float], list[dict]] = {}
    for ev in sorted((out / "runs").glob("*/eval.json")):
        model, minutes, _ = ev.parent.name.rsplit("-", 2)
        found.setdefault((model, float(minutes.removesuffix("min"))), []).append(json.loads(ev.read_text()))
    return found


def sampling_cost(rec: dict) -> float | None:
    """CPU-seconds per 1,000 samples that evaluate recorded, or None."""
    s = rec.get("protocol", {}).get("sampling") or {}
    return s.get("cpu_seconds_per_1k")


def table(out: Path) -> str:
    """Markdown: one row per (model, minutes), medians over seeds with their range, then the real-data row."""
    recs = records(out)
    if not recs:
        return "(nothing evaluated yet)"
    head = ["model", "minutes", "seeds", "steps", *HEADS]
    head.append("sampling (CPU-s / 1k)")
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    order = list(MODELS) + list(FACES)
    for (model, minutes), rs in sorted(recs.items(), key=lambda kv: (kv[0][1], order.index(kv[0][0]))):
        cells = [model, f"{minutes:g}", str(len(rs)), summary([r["step"] for r in rs], digits=0)]
        for k in KINDS:
            vals = [m["value"] for r in rs if (m := metric(r, k)) is not None]
            cells.append(
                summary(vals, pct=k in ("cond-acc", "cas", "memorised"), digits=1 if k == "fid" else 2) if vals else "-"
            )
        costs = [c for r in rs if (c := sampling_cost(r)) is not None]
        cells.append(summary(costs, digits=1 if max(costs, default=0) < 10 else 0) if costs else "-")
        rows.append("| " + " | ".join(cells) + " |")
    any_rec = next(iter(recs.values()))[0]
    real = [metric(any_rec, k) for k in KINDS]
    reals = [
        (f"{100 * m['real']:.0f}%" if k in ("cond-acc", "cas", "memorised") else f"{m['real']:.2f}")
        if m and m.get("real") is not None
        else "-"
        for k, m in zip(KINDS, real)
    ]
    rows.append("| real data | | | | " + " | ".join(reals) + " | |")
    return "\n".join(rows)


def figure(out: Path) -> Path | None:
    """FID against training minutes, one line per model (median over seeds, the range as a band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = records(out)
    if not recs:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    for model in [*MODELS, *FACES]:
        pts = sorted((m, [metric(r, "fid")["value"] for r in rs]) for (mo, m), rs in recs.items() if mo == model)
        if not pts:
            continue
        xs = [p[0] for p in pts]
        pts_v = [p[1] for p in pts]
        ax.plot(xs, [statistics.median(v) for v in pts_v], "o-", label=model)
        ax.fill_between(xs, [min(v) for v in pts_v], [max(v) for v in pts_v], alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training minutes (one CPU thread)")
    ax.set_ylabel("FID (mnist-5k feature net, n = 2,500)")
    ax.set_title("GAN or diffusion at equal CPU minutes (mnist-5k)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    path = out / "rung7.png"
    fig.savefig(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("budgets", nargs="*", metavar="MINUTES[:SEEDS]", help="e.g. 5:0,1,2 15:0 30:0")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", nargs="+", choices=[*MODELS, *FACES], help="default: every one of the data's")
    ap.add_argument("--faces", type=Path, help="a folder of face images: train and compare the faces presets on it")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--table", action="store_true", help="only the table and figure of what is evaluated")
    a = ap.parse_args(argv)
    models, data, evals = (FACES, ["--data", f"folder:{a.faces}"], ("--n", "5000")) if a.faces else (MODELS, DATA, ())
    if not a.table:
        jobs = [
            Job(
                run_dir(a.out, model, minutes, seed),
                [*models[model], *data, "--seed", str(seed)],
                ["--minutes", f"{minutes:g}"],
            )
            for minutes, seeds in map(parse_budget, a.budgets)
            for seed in seeds
            for model in a.models or list(models)
        ]
        run_queue(a.out / "logs", jobs, parallel=a.parallel, eval_args=evals)
    text = table(a.out)
    (a.out / "rung7.md").write_text(text + "\n")
    print(text)
    fig = figure(a.out)
    if fig is not None:
        print(f"figure: {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
