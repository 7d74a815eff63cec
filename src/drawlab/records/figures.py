"""The monitor pictures of a run, drawn from its files alone (so they work on a run that is still
training or was interrupted). D's values are read with the readout of the run's loss (config.json's
``model.loss``), so each loss gets its own range, reference lines and names::

    monitor/d_heatmap.png     D's output distribution on real and generated images per epoch, AUC under it
    monitor/losses.png        G and D losses (raw, faint; smoothed), D's mean outputs, the eval curve
    monitor/evolution.png     the fixed-noise grid through training, one row per kept step
    monitor/evolution.gif     the same as a looping animation of a few seconds
    monitor/noise_loss.png    a denoiser's loss per noise level, early, midway and late in training
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .. import losses
from ..errors import DrawlabError
from ..files import atomic_write, read_jsonl
from ..losses import Readout, Scale
from ..models.denoising import NOISE_BUCKETS, noise_bucket_key
from ..run import RunDir
from . import metrics_log
from .histograms import load_history

GIF_SECONDS = 4.0  # one loop of the evolution animation
GIF_MAX_FRAMES = 80
GIF_MAX_SIDE = 480  # pixels: frames are shrunk to this
STRIP_ROWS = 12  # kept steps shown in the strip
STRIP_TILES = 10  # fixed-noise images per strip row
_STEP_RE = re.compile(r"step-(\d+)\.png$")


def _plt():
    from ..plotting import pyplot

    return pyplot()


def _save(fig, path: Path) -> Path:
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100), "monitor")
    _plt().close(fig)
    return path


def read_log(run: RunDir) -> dict[str, list[dict[str, Any]]]:
    """metrics.jsonl split by ``metrics_log.RecordKind``: {"train": interval records, "eval": evaluations,
    "monitor": D snapshots, "event": what happened to the run (a NaN rollback)}."""
    return {k.value: v for k, v in metrics_log.split(read_jsonl(run.metrics)).items()}


def run_readout(run: RunDir) -> Readout | None:
    """The readout of D's output under the run's loss (config.json's ``model.loss``); None when the
    config cannot be read or names a loss this drawlab does not know."""
    try:
        cfg, _ = run.read_config()
        if cfg.model.loss is None:  # training writes the loss it uses; a config naming none has no readout
            return None
        return losses.get_loss(cfg.model.loss).readout
    except (DrawlabError, KeyError):
        return None


def smooth(values: list[float], weight: float = 0.8) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard's smoothing); NaNs are skipped."""
    out, m, w = [], 0.0, 0.0
    for v in values:
        if math.isfinite(v):
            m, w = weight * m + (1 - weight) * v, weight * w + (1 - weight)
        out.append(m / w if w > 0 else math.nan)
    return np.asarray(out)


# -- D's distributions ------------------------------------------------------------------------------
def d_heatmap(run: RunDir, path: Path) -> Path | None:
    """Draw ``heatmap_figure`` of the run into ``path``. None when the run has no D snapshots yet."""
    h = load_history(run.monitor / "d_hist.npz")
    if h is None or len(h["step"]) == 0:
        return None
    return _save(heatmap_figure(h, run_readout(run)), path)


def heatmap_figure(h: dict[str, np.ndarray], r: Readout | None):
    """Two panels (real, generated): snapshot epoch on x, D's output on y (the readout's range, its
    reference lines dotted), colour = share of images; the ROC-AUC of D (real vs generated) and the gap
    of the means under them. ``h``: a D history (see ``load_history``); ``r``: the run's readout, or None
    when unknown (no lines, a neutral axis name). Returns the matplotlib figure (axes: real, generated,
    AUC, colour bar, gap)."""
    plt = _plt()
    x = h["epoch"].astype(float)
    edges = h["edges"]
    xe = _cell_edges(x)
    from matplotlib.colors import PowerNorm

    fig = plt.figure(figsize=(9, 7.2))
    gs = fig.add_gridspec(3, 2, height_ratios=[3, 3, 2], width_ratios=[40, 1], hspace=0.35, wspace=0.12)
    axes = [fig.add_subplot(gs[0, 0])]
    axes += [fig.add_subplot(gs[1, 0], sharex=axes[0]), fig.add_subplot(gs[2, 0], sharex=axes[0])]
    vmax = max(float(h["real_hist"].max()), float(h["fake_hist"].max()), 1e-9)
    norm = PowerNorm(0.5, vmin=0, vmax=vmax)  # square-root colours: the tails stay visible
    for ax, key, title in (
        (axes[0], "real_hist", f"real images (n={int(h['n'])})"),
        (axes[1], "fake_hist", f"generated images, fixed noise (n={int(h['n'])})"),
    ):
        mesh = ax.pcolormesh(xe, edges, h[key].T, cmap="magma", norm=norm, shading="flat")
        ax.set_ylabel(_axis_name(r), fontsize=8)
        ax.set_title(f"{title}: distribution of {_axis_name(r)}", fontsize=10, loc="left")
        ax.set_ylim(float(edges[0]), float(edges[-1]))
        for m in r.lines if r else ():
            ax.axhline(m, color="white", lw=0.6, ls=":")
    fig.colorbar(mesh, cax=fig.add_subplot(gs[0:2, 1]), label="share of images (square-root scale)")
    ax = axes[2]
    ax.plot(x, h["auc"], "o-", ms=3, color="C0", label="ROC-AUC of D: real vs generated (left)")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("AUC")
    ax.set_xlabel("epoch")
    ax.text(
        0.01,
        0.04,
        "AUC 1 = D separates them perfectly, 0.5 = it cannot tell them apart",
        transform=ax.transAxes,
        fontsize=8,
        color="grey",
    )
    gap = ax.twinx()  # how far apart the two distributions sit
    gap.plot(
        x,
        h["real_mean"] - h["fake_mean"],
        "s--",
        ms=2,
        lw=1,
        color="C3",
        label=f"mean {r.names[0]} - mean {r.names[1]} (right)" if r else "gap of D's means (right)",
    )
    gap.set_ylabel("gap of means", fontsize=8)
    if r is not None and r.scale is Scale.PROBABILITY:
        gap.set_ylim(-1.02, 1.02)
    lines = ax.get_legend_handles_labels(), gap.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], loc="lower right", fontsize=7)
    fig.subplots_adjust(left=0.08, right=0.90, top=0.95, bottom=0.08)
    return fig


def _axis_name(r: Readout | None) -> str:
    return r.axis if r else "D's output"


def _cell_edges(x: np.ndarray) -> np.ndarray:
    """Edges of cells centred on the (increasing) points ``x``, for pcolormesh."""
    if len(x) == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = (x[1:] + x[:-1]) / 2
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


# -- curves -----------------------------------------------------------------------------------------
def losses_plot(run: RunDir, path: Path) -> Path | None:
    """Draw ``losses_figure`` of the run into ``path``. None without records."""
    log = read_log(run)
    if not log["train"]:
        return None
    return _save(losses_figure(log, run_readout(run)), path)


def losses_figure(log: dict[str, list[dict[str, Any]]], readout: Readout | None):
    """G and D losses (raw faint, smoothed solid); D's mean outputs on the run's readout (its ``keys``
    in the records, its ``names`` in the legend, its reference lines), when the records carry them;
    and, when the run was evaluated while training, the FID curve beside its real-data floor.
    ``log``: ``read_log``'s split, with at least one train record. Returns the matplotlib figure, one
    axis per panel (loss, then D, then eval), top to bottom."""
    plt = _plt()
    train = log["train"]
    if readout is not None and not any(readout.keys[0] in r for r in train):
        readout = None  # a family without D (or records from before D's means were logged)
    panels = ["loss"] + (["d"] if readout else []) + (["eval"] if _fid_key(log["eval"]) else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.8 * len(panels)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    steps = [r["step"] for r in train]
    ax = axes[0]
    for i, (loss_key, label) in enumerate(
        (k, n) for k, n in (("loss_g", "G loss"), ("loss_d", "D loss")) if k in train[-1]
    ):
        vals = [float(r.get(loss_key, math.nan)) for r in train]
        ax.plot(steps, vals, color=f"C{i}", alpha=0.25, lw=0.8)
        ax.plot(steps, smooth(vals), color=f"C{i}", lw=1.8, label=label)
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.set_title("losses: raw (faint) and smoothed", fontsize=10, loc="left")
    if readout:
        ax = axes[panels.index("d")]
        for i, (key, name) in enumerate(zip(readout.keys, readout.names)):
            vals = [float(r.get(key, math.nan)) for r in train]
            ax.plot(steps, vals, color=f"C{i + 2}", alpha=0.25, lw=0.8)
            ax.plot(steps, smooth(vals), color=f"C{i + 2}", lw=1.8, label=name)
        if readout.scale is Scale.PROBABILITY:
            ax.set_ylim(-0.02, 1.02)
        for m in readout.lines:
            ax.axhline(m, color="grey", lw=0.8, ls="--")
        ax.set_ylabel(readout.axis, fontsize=8)
        ax.legend(fontsize=8)
        ax.set_title(f"discriminator: {readout.meaning}", fontsize=10, loc="left")
    fid = _fid_key(log["eval"])
    if fid is not None:
        ax = axes[panels.index("eval")]
        ev = [r for r in log["eval"] if fid in r and fid + "_floor" in r]
        ax.plot([r["step"] for r in ev], [r[fid] for r in ev], "o-", ms=3, color="C5", label=fid)
        floor = [float(r[fid + "_floor"]) for r in ev if r.get(fid + "_floor") is not None]
        if floor:
            ax.axhline(float(np.mean(floor)), color="grey", ls="--", lw=0.8, label="real-vs-real floor")
        ax.set_ylabel("FID (lower is better)")
        ax.legend(fontsize=8)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    return fig


def noise_loss_plot(run: RunDir, path: Path) -> Path | None:
    """Draw ``noise_loss_figure`` of the run into ``path``. None for a run without per-noise losses."""
    fig = noise_loss_figure(read_log(run)["train"])
    return None if fig is None else _save(fig, path)


def noise_loss_table(train: list[dict[str, Any]], parts: int = 3) -> list[tuple[str, list[float]]]:
    """(name, mean loss per noise bucket) of the first, middle and last third of the training records
    that carry ``loss_noise_*`` (fewer parts with fewer records); empty when none do."""
    keys = [noise_bucket_key(k) for k in range(NOISE_BUCKETS)]
    recs = [r for r in train if all(k in r for k in keys)]
    parts = min(parts, len(recs))
    names = ["early", "midway", "late"] if parts == 3 else ["first half", "second half"] if parts == 2 else ["all"]
    out = []
    for i in range(parts):
        chunk = recs[i * len(recs) // parts : (i + 1) * len(recs) // parts]
        first, last = chunk[0]["step"], chunk[-1]["step"]
        out.append((f"{names[i]} (steps {first:,}-{last:,})", [float(np.mean([r[k] for r in chunk])) for k in keys]))
    return out


def noise_loss_figure(train: list[dict[str, Any]]):
    """A denoiser's mean loss in each fifth of the noise level (0: the clean image, 1: pure noise), one
    line per third of training: where the model still struggles, and what training has fixed. None
    without ``loss_noise_*`` records."""
    table = noise_loss_table(train)
    if not table:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    centres = [(k + 0.5) / NOISE_BUCKETS for k in range(NOISE_BUCKETS)]
    for i, (name, vals) in enumerate(table):
        ax.plot(centres, vals, "o-", color=f"C{i}", lw=1.6, ms=4, label=name)
    ax.set_xticks([k / NOISE_BUCKETS for k in range(NOISE_BUCKETS + 1)])
    ax.set_xlabel("noise level (0: the clean image, 1: pure noise)")
    ax.set_ylabel("MSE loss")
    ax.set_title("loss per noise level: where the denoiser struggles", fontsize=10, loc="left")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _fid_key(evals: list[dict[str, Any]]) -> str | None:
    """The FID name of the in-training evaluations (``--eval-every``: they carry ``NAME_floor``; the
    records `drawlab evaluate` appends carry ``NAME_real`` and are not part of the curve)."""
    for r in reversed(evals):
        for k in r:
            if k.startswith("fid") and k + "_floor" in r and isinstance(r[k], (int, float)):
                return k
    return None


# -- evolution --------------------------------------------------------------------------------------
def sample_grids(run: RunDir) -> list[tuple[int, Path]]:
    """(step, path) of the fixed-noise grids the run kept, in step order."""
    out = []
    for p in run.samples.glob("step-*.png"):
        m = _STEP_RE.search(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def _pick(items: list, k: int) -> list:
    """``k`` items spread evenly over ``items``, always the first and the last."""
    if len(items) <= k:
        return list(items)
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


def _tiles(grid: Image.Image, n: int, pad: int = 2) -> list[Image.Image]:
    """The first ``n`` tiles of a sample grid (10 per row, ``pad`` px gaps; see images.grid_array)."""
    w = grid.width
    cols = 10
    tile = (w - pad) // cols - pad
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        box = (
            pad + c * (tile + pad),
            pad + r * (tile + pad),
            pad + c * (tile + pad) + tile,
            pad + r * (tile + pad) + tile,
        )
        if box[3] <= grid.height:
            out.append(grid.crop(box))
    return out


def evolution_strip(grids: list[tuple[int, Path]], path: Path) -> Path | None:
    """One row per kept step (at most ``STRIP_ROWS``, first and last included): the first ``STRIP_TILES``
    images of the fixed-noise grid, the step written at the left."""
    if not grids:
        return None
    rows = []
    for step, p in _pick(grids, STRIP_ROWS):
        with Image.open(p) as im:
            rows.append((step, _tiles(im.convert("RGB"), STRIP_TILES)))
    tile = rows[0][1][0].width
    label_w, pad = 90, 2
    width = label_w + STRIP_TILES * (tile + pad)
    canvas = Image.new("RGB", (width, len(rows) * (tile + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (step, tiles) in enumerate(rows):
        y = pad + i * (tile + pad)
        draw.text((6, y + tile // 2 - 6), f"step {step:,}", fill=(0, 0, 0))
        for j, t in enumerate(tiles):
            canvas.paste(t, (label_w + j * (tile + pad), y))
    return atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))


def evolution_gif(grids: list[tuple[int, Path]], path: Path) -> Path | None:
    """Every kept grid (at most ``GIF_MAX_FRAMES``, evenly picked) as a looping GIF of about
    ``GIF_SECONDS`` whatever the number of steps, the last frame held a second longer."""
    if not grids:
        return None
    frames = []
    for step, p in _pick(grids, GIF_MAX_FRAMES):
        with Image.open(p) as opened:
            im = opened.convert("RGB")
        scale = min(1.0, GIF_MAX_SIDE / max(im.size))
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        ImageDraw.Draw(im).text((4, 2), f"step {step:,}", fill=(255, 0, 0))
        frames.append(im)
    per = max(40, int(1000 * GIF_SECONDS / len(frames)) // 10 * 10)  # browsers slow down frames under 20 ms
    durations = [per] * (len(frames) - 1) + [per + 1000]
    return atomic_write(
        path,
        lambda tmp: frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0
        ),
    )


def write_figures(run: RunDir | str | Path) -> list[Path]:
    """Draw every monitor picture the run's files allow; returns the paths written."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    m = run.monitor
    grids = sample_grids(run)
    made = [
        d_heatmap(run, m / "d_heatmap.png"),
        losses_plot(run, m / "losses.png"),
        noise_loss_plot(run, m / "noise_loss.png"),
        evolution_strip(grids, m / "evolution.png"),
        evolution_gif(grids, m / "evolution.gif"),
    ]
    return [p for p in made if p is not None]
