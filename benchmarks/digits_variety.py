"""Digits as varied as real ones (issue 22): the default preset (mnist-cgan) against one lever changed at a time,
at the same CPU minutes, scored by `drawlab evaluate` (n = 2,500 on mnist-5k, its own feature net). Variety is
recall and coverage; the asked digit is conditional accuracy, which must stay >= 0.975.

    python benchmarks/digits_variety.py --out /tmp/variety 5:0                 # MINUTES:SEEDS, restartable
    python benchmarks/digits_variety.py --out /tmp/variety --variants ema-half d-wide 5:0,1,2
    python benchmarks/digits_variety.py --out /tmp/variety --table

Each run: `drawlab train --preset mnist-cgan --data mnist-5k OPTIONS --minutes M --seed S`, ONE thread, two side by
side (benchmarks/runner.py), then `drawlab evaluate RUN`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ladder import metric
from rung7 import parse_budget, summary
from runner import Job, run_queue

BASE = ["--preset", "mnist-cgan", "--data", "mnist-5k"]
VARIANTS: dict[str, list[str]] = {  # one lever each, on top of the preset (config.py: ema 8,800 images, rampup 0.5)
    "preset": [],
    "ema-half": ["--ema", "4400"],  # a shorter EMA half-life: the average of fewer, later generators
    "ema-double": ["--ema", "17600"],
    "ema-rampup-0.2": ["--ema-rampup", "0.2"],
    "d-wide": ["--d-width", "96"],  # more capacity in D: it can tell more of the variety apart
    "d-narrow": ["--d-width", "48"],
    "projection": ["--d-cond", "projection"],  # D reads the label by projection (Miyato & Koyama 2018)
    "lr-half": ["--lr", "2e-4"],
    "smoothing": ["--label-smoothing", "0.1"],  # one-sided: a less certain D
}
KINDS = ("fid", "precision", "recall", "coverage", "cond-acc", "memorised")
HEADS = ("FID", "precision", "recall", "coverage", "cond. acc.", "memorised")  # one per KINDS
PCT = ("cond-acc", "memorised")


def run_dir(out: Path, variant: str, minutes: float, seed: int) -> Path:
    return out / "runs" / f"{variant}-{minutes:g}min-s{seed}"


def table(out: Path) -> str:
    """Markdown: one row per (variant, minutes), medians over seeds with their range, then the real data."""
    found: dict[tuple[str, float], list[dict]] = {}
    for ev in sorted((out / "runs").glob("*/eval.json")):
        variant, minutes, _ = ev.parent.name.rsplit("-", 2)
        found.setdefault((variant, float(minutes.removesuffix("min"))), []).append(json.loads(ev.read_text()))
    if not found:
        return "(nothing evaluated yet)"
    head = ["variant", "options", "minutes", "seeds", "steps", *HEADS]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    order = list(VARIANTS)
    for (variant, minutes), rs in sorted(found.items(), key=lambda kv: (kv[0][1], order.index(kv[0][0]))):
        cells = [variant, " ".join(VARIANTS[variant]) or "-", f"{minutes:g}", str(len(rs))]
        cells.append(summary([r["step"] for r in rs], digits=0))
        for k in KINDS:
            vals = [m["value"] for r in rs if (m := metric(r, k)) is not None]
            cells.append(summary(vals, pct=k in PCT, digits=1 if k == "fid" else 3) if vals else "-")
        rows.append("| " + " | ".join(cells) + " |")
    any_rec = next(iter(found.values()))[0]
    reals = []
    for k in KINDS:
        m = metric(any_rec, k)
        real = None if m is None else m.get("real")
        reals.append("-" if real is None else (f"{100 * real:.1f}%" if k in PCT else f"{real:.3g}"))
    rows.append("| real data | | | | | " + " | ".join(reals) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("budgets", nargs="*", metavar="MINUTES[:SEEDS]", help="e.g. 5:0 or 5:0,1,2")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--table", action="store_true", help="only print the table of what is evaluated")
    a = ap.parse_args(argv)
    if not a.table:
        jobs = [
            Job(run_dir(a.out, v, minutes, s), [*BASE, *VARIANTS[v], "--seed", str(s)], ["--minutes", f"{minutes:g}"])
            for minutes, seeds in map(parse_budget, a.budgets)
            for s in seeds
            for v in a.variants
        ]
        run_queue(a.out / "logs", jobs, parallel=a.parallel)
    text = table(a.out)
    (a.out / "variety.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
