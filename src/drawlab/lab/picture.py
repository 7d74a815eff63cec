"""Pictures of a 2D run: the final state with every layer (PNG) and the run as an animation (GIF).

Layers of the plane, bottom to top: D's reading (a heatmap of its probability, or contours of an
unbounded score), G's image of a noise grid (the warped cells), real points (black), generated points
(orange) and G's gradient on them (arrows: where G is pushed). The PNG adds D's readings on real and
generated points, the scores over time and the losses.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write_bytes

REAL, FAKE, GRID, ARROW = "#222222", "#f28e2b", "#4e79a7", "#c0392b"


def _plane(ax, v: dict[str, Any], title: str | None = None) -> None:
    e = v["extent"]
    field = np.array(v["field"], dtype=float)
    if v["field_scale"] == "probability":
        ax.imshow(field, extent=(-e, e, -e, e), cmap="RdBu", vmin=0, vmax=1, alpha=0.55, interpolation="bilinear")
    else:
        xs = np.linspace(-e, e, field.shape[0])
        ax.contourf(xs, xs[::-1], field, levels=12, cmap="RdBu", alpha=0.45)
    man = np.array(v["manifold"], dtype=float)
    for row in man:
        ax.plot(row[:, 0], row[:, 1], color=GRID, lw=0.5, alpha=0.6)
    if man.shape[0] > 1:
        for col in man.transpose(1, 0, 2):
            ax.plot(col[:, 0], col[:, 1], color=GRID, lw=0.5, alpha=0.6)
    real, fake = (np.array(v[k], dtype=float) for k in ("real", "fake"))
    ax.scatter(real[:, 0], real[:, 1], s=3, c=REAL, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c=FAKE, label="generated")
    if v.get("vectors"):  # a denoiser: its field halfway from noise to data, on a grid
        mid = v["vectors"][len(v["vectors"]) // 2]
        pts, arrows = np.array(mid["points"], dtype=float), np.array(mid["field"], dtype=float)
        norm = np.linalg.norm(arrows, axis=1)
        scale = 0.1 * e / (np.percentile(norm, 90) + 1e-12)
        ax.quiver(
            pts[:, 0], pts[:, 1], arrows[:, 0] * scale, arrows[:, 1] * scale,
            color=ARROW, angles="xy", scale_units="xy", scale=1, width=0.003, alpha=0.7,
        )  # fmt: skip
        _finish(ax, v, e, title)
        return
    arrows = np.array(v["arrows"], dtype=float)
    norm = np.linalg.norm(arrows, axis=1)
    scale = 0.15 * e / (np.percentile(norm, 90) + 1e-12)
    k = slice(None, None, 4)
    ax.quiver(
        fake[k, 0], fake[k, 1], arrows[k, 0] * scale, arrows[k, 1] * scale,
        color=ARROW, angles="xy", scale_units="xy", scale=1, width=0.003, alpha=0.8,
    )  # fmt: skip
    _finish(ax, v, e, title)


def _finish(ax, v: dict[str, Any], e: float, title: str | None) -> None:
    ax.set_xlim(-e, e)
    ax.set_ylim(-e, e)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"step {v['step']}", fontsize=9)


def _particles(ax, v: dict[str, Any]) -> None:
    """A denoiser's particles carried from noise (green dots) to points (orange), with their paths."""
    e = v["extent"]
    paths = np.array(v["paths"], dtype=float)
    for p in paths:
        ax.plot(p[:, 0], p[:, 1], color="#2ca02c", lw=0.6, alpha=0.5)
    ax.scatter(paths[:, 0, 0], paths[:, 0, 1], s=6, c="#2ca02c", label="noise")
    ax.scatter(paths[:, -1, 0], paths[:, -1, 1], s=6, c=FAKE, label="carried to")
    ax.legend(fontsize=7)
    ax.set_xlim(-e, e)
    ax.set_ylim(-e, e)
    ax.set_aspect("equal")
    ax.set_title(f"particles: {v['settings']['sample_steps']} sampling steps from noise to data", fontsize=9)


def final_png(v: dict[str, Any], path: str | Path) -> Path:
    """The run's state ``v`` (``view.view``) as a 4-panel PNG: plane, D's readings, scores, losses."""
    from ..plotting import pyplot

    plt = pyplot()

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    what = v["settings"]["loss"] if v["family"] == "gan" else v["family"]
    st = v["settings"]
    extra = (f", unroll {st['unroll']}" if st.get("unroll") else "") + (
        f", pack {st['pack']}" if st.get("pack", 1) > 1 else ""
    )
    _plane(axes[0], v, f"step {v['step']}: {what} on {st['dist']}{extra}")
    axes[0].legend(loc="lower right", fontsize=7, markerscale=3)
    if v.get("paths"):
        _particles(axes[1], v)
    else:
        _readings(axes[1], v)
    _scores_and_losses(axes[2], axes[3], v)
    words = "; ".join(v["verdicts"]) or "no verdict"
    fig.suptitle(words if len(words) < 160 else words[:157] + "...", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue(), kind="picture")


def _readings(ax, v: dict[str, Any]) -> None:
    axes = [None, ax]
    ro = v["readout"]
    bins = np.linspace(ro["lo"], ro["hi"], 41)
    for key, name, c in (("d_real", ro["names"][0], REAL), ("d_fake", ro["names"][1], FAKE)):
        axes[1].hist(
            np.clip(np.array(v[key], dtype=float), ro["lo"], ro["hi"]), bins=bins, alpha=0.6, color=c, label=name
        )
    axes[1].set_xlabel(ro["axis"], fontsize=8)
    axes[1].legend(fontsize=7)
    axes[1].set_title("D's readings", fontsize=9)


def _scores_and_losses(a2, a3, v: dict[str, Any]) -> None:
    axes = [None, None, a2, a3]
    rec = v["records"]
    steps = [r["step"] for r in rec]
    for key in ("modes", "high_quality", "reverse_kl", "swd"):
        vals = [r["metrics"].get(key) for r in rec]
        if any(x is not None for x in vals):
            axes[2].plot(steps, [np.nan if x is None else x for x in vals], label=key)
    axes[2].set_yscale("symlog", linthresh=0.1)
    axes[2].set_xlabel("step", fontsize=8)
    axes[2].legend(fontsize=7)
    axes[2].set_title("scores (2,500 points)", fontsize=9)
    curve = np.array([[np.nan if x is None else x for x in c] for c in v["curve"]], dtype=float).reshape(-1, 3)
    for col, name in ((1, v["curve_names"][0]), (2, v["curve_names"][1])):
        if not np.isnan(curve[:, col]).all():
            axes[3].plot(curve[:, 0], curve[:, col], label=name, lw=0.8)
    axes[3].set_xlabel("step", fontsize=8)
    axes[3].legend(fontsize=7)
    axes[3].set_title("losses", fontsize=9)


def frame(v: dict[str, Any], size: float = 3.2) -> np.ndarray:
    """The plane of ``v`` as an RGB array (H, W, 3), uint8: one frame of the run's GIF."""
    from ..plotting import pyplot

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(size, size))
    _plane(ax, v)
    fig.tight_layout(pad=0.2)
    fig.canvas.draw()
    a = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return a


def gif(frames: list[np.ndarray], path: str | Path, seconds: float = 6.0) -> Path:
    """Frames (each (H, W, 3) uint8) as an endless GIF ``seconds`` long."""
    from PIL import Image

    pics = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    ms = max(40, int(1000 * seconds / max(1, len(pics))))
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=ms, loop=0)
    return atomic_write_bytes(path, buf.getvalue(), kind="picture")
