"""`drawlab compare`: the evaluations of several runs side by side, as a Markdown table and a bar chart."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import guidance_words
from ..errors import ConfigError
from ..files import atomic_write, atomic_write_bytes
from ..records.evals import MetricKind, fmt, kind_table, read_eval
from .registry import KINDS


def _labels(runs: Sequence[str | Path]) -> list[str]:
    """Short unique names: the folder name, with its parent when two runs share one."""
    names = [Path(r).absolute().name for r in runs]
    out = []
    for r, n in zip(runs, names):
        p = Path(r).absolute()
        out.append(f"{p.parent.name}/{n}" if names.count(n) > 1 else n)
    return out


def _by_kind(rec: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {e["kind"]: (name, e) for name, e in rec["metrics"].items() if isinstance(e.get("kind"), str)}


def _protocol(rec: dict[str, Any]) -> str:
    """n, the feature net, its version and training steps, and the data it was trained on: two rows are
    comparable only when all of these agree."""
    p = rec["protocol"]
    f = p["feature_net"]
    fp = str(f.get("data_fingerprint") or rec.get("data_fingerprint") or "?")[:8]
    return f"n={p['n']}, {f['name']} v{f.get('arch_version', '?')} {f.get('train_steps', '?')} steps, data {fp}"


def training_cell(rec: dict[str, Any]) -> str:
    """Training minutes up to the evaluated checkpoint ("-" for records from before they were kept)."""
    sec = rec.get("training_seconds")
    return "-" if sec is None else f"{sec / 60:.1f} min"


def sampling_cell(rec: dict[str, Any]) -> str:
    """The cost of 1,000 samples and how they were drawn: "0.4 CPU-s/1k" or "51 CPU-s/1k (euler 20 cfg 1.5)"."""
    smp = rec.get("protocol", {}).get("sampling") or {}
    cost = smp.get("cpu_seconds_per_1k", smp.get("gpu_seconds_per_1k"))
    if cost is None:
        return "-"
    unit = "CPU-s/1k" if "cpu_seconds_per_1k" in smp else "GPU-s/1k"
    guided = f" cfg {guidance_words(smp)}" if smp.get("guidance", 1.0) != 1.0 else ""  # 2 passes a guided step
    how = f" ({smp['sampler']} {smp['steps']}{guided})" if "steps" in smp else ""
    return f"{cost:.3g} {unit}{how}"


def compare(run_dirs: Sequence[str | Path], out: str | Path = "compare.md") -> tuple[Path, Path]:
    """Write the Markdown table to ``out`` and the bar chart beside it (.png); returns both paths."""
    out = Path(out)
    if out.suffix.lower() != ".md":
        raise ConfigError(f"--out {out}: use a .md file name (the chart goes beside it as .png)")
    recs = [read_eval(r) for r in run_dirs]
    labels = _labels(run_dirs)
    table = kind_table(recs, KINDS)  # the registry's kinds in its order, then any others the files hold
    kinds = list(table)
    png = out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)

    lines = ["# drawlab compare", ""]
    protocols = sorted({_protocol(r) for r in recs})
    if len(protocols) > 1:
        lines += [
            f"**Warning:** the runs were evaluated under different protocols ({'; '.join(protocols)}): "
            "their numbers are not comparable. Evaluate them with the same --n on the same data.",
            "",
        ]
    header = ["run", "model", "step", "training", "sampling", "protocol"] + [table[k].title for k in kinds]
    header.append("samples")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| " + " | ".join(["---"] * 3 + ["---:"] * 2 + ["---"] + ["---:"] * len(kinds) + ["---"]) + " |")
    for label, rec in zip(labels, recs):
        bk = _by_kind(rec)
        cells = [label, rec["model"], str(rec["step"]), training_cell(rec), sampling_cell(rec), _protocol(rec)]
        for k in kinds:
            if k in bk:
                e = bk[k][1]
                cells.append(f"{fmt(e['value'], e.get('spread'))} (real {fmt(e.get('real'))})")
            else:
                cells.append("-")
        sample = Path(rec["run"]) / rec.get("files", {}).get("samples", "")
        link = os.path.relpath(sample, out.parent.absolute()) if sample.is_file() else None
        cells.append(f"[grid]({link})" if link else "-")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += [
        "",
        "Each cell: value ± spread (real: the same metric between two disjoint real sets of the same size). "
        "Training: wall minutes of training up to the evaluated checkpoint. Sampling: what drawing 1,000 "
        "images cost (CPU-seconds: wall seconds x threads; a denoiser's sampler and steps beside it).",
        "",
    ]
    for k in kinds:
        kd = table[k]
        spread = "" if kd.spread == "none" else f"; ± is the {kd.spread}"
        lines.append(f"- **{kd.title}** ({kd.better} is better): {kd.description}{spread}.")
    lines += ["", f"![metrics]({png.name})", ""]
    atomic_write_bytes(out, "\n".join(lines).encode())
    _chart(recs, labels, table, png)
    return out, png


def bar_values(recs: list[dict[str, Any]], kind: str) -> tuple[list[float], list[float], list[float | None]]:
    """(values, spreads, real values) of ``kind`` per run; a run without it gives NaN (no bar, never a 0)."""
    vals, errs, reals = [], [], []
    for rec in recs:
        e = _by_kind(rec).get(kind, (None, {}))[1]
        value = e.get("value")
        vals.append(float("nan") if value is None else float(value))
        errs.append(e.get("spread") or 0.0)
        reals.append(e.get("real"))
    return vals, errs, reals


def _chart(recs: list[dict[str, Any]], labels: list[str], table: dict[str, MetricKind], png: Path) -> None:
    from ..plotting import pyplot

    plt = pyplot()

    kinds = list(table)
    cols = min(4, max(1, len(kinds)))
    rows = (len(kinds) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    x = list(range(len(recs)))
    for ax, k in zip(axes.flat, kinds):
        vals, errs, reals = bar_values(recs, k)
        ax.bar(x, vals, yerr=errs, color=[f"C{i % 10}" for i in x], capsize=3)
        for i, v in zip(x, vals):
            if v != v:
                ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=7, color="grey")
        rx = [i for i, r in zip(x, reals) if r is not None]
        ax.scatter(
            rx, [r for r in reals if r is not None], marker="_", s=400, color="black", zorder=3, label="real data"
        )
        ax.set_title(f"{table[k].title} ({table[k].better})", fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(kinds) :]:
        ax.axis("off")
    if kinds:
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    atomic_write(png, lambda tmp: fig.savefig(tmp, dpi=100))
    plt.close(fig)
