"""Walks through a generator's latent space as frames: rows of pictures, one column per step.

Each function returns ``Frames`` (uint8 images (R, T, C, H, W) with their latents and labels);
``save_frames`` writes them as a PNG strip (rows x steps), an animated GIF (one frame per column,
the rows stacked) or an .npz of uint8 arrays for programs. Frame 0 of ``interpolation(a, b)`` is
the picture of seed ``a`` (``drawlab sample --seeds a``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..api import Drawer
from ..errors import ConfigError
from ..files import atomic_write, atomic_write_bytes
from ..images import grid_array, save_png
from ..latent import class_walk, lerp, random_walk, seed_label, seed_latent, slerp, sweep


@dataclass
class Frames:
    """images uint8 (R, T, C, H, W); z (R, T, D); labels (R, T); a title per row and per column."""

    images: torch.Tensor
    z: torch.Tensor
    labels: torch.Tensor
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)


def _label(drawer: Drawer, seed: int, label: int | None) -> int:
    """The class to draw: the chosen one (checked), else the seed's own (``seed % classes``)."""
    if label is not None:
        return int(drawer.seed_labels([seed], label)[0])
    return seed_label(seed, drawer.num_classes)


def _render(drawer: Drawer, z: torch.Tensor, y: torch.Tensor, rows: list[str], cols: list[str]) -> Frames:
    """Draw latents z (R, T, D) with labels (R, T) through ``drawer.draw``."""
    r, t, d = z.shape
    images = drawer.draw(z.reshape(r * t, d), y.reshape(r * t)).reshape(r, t, *drawer.shape)
    return Frames(images, z, y, rows, cols)


def interpolation(
    drawer: Drawer, a: int, b: int, steps: int, spherical: bool = True, label: int | None = None
) -> Frames:
    """From seed ``a`` to seed ``b`` in ``steps`` frames (slerp, or lerp), in class ``label``
    (default: seed a's class)."""
    t = torch.linspace(0, 1, steps)
    za, zb = seed_latent(a, drawer.z_dim), seed_latent(b, drawer.z_dim)
    z = (slerp if spherical else lerp)(za, zb, t)
    y = torch.full((1, steps), _label(drawer, a, label), dtype=torch.long)
    return _render(
        drawer,
        z[None],
        y,
        [f"seed {a} -> {b} ({'slerp' if spherical else 'lerp'})"],
        [f"t={x:.2f}" for x in t.tolist()],
    )


def sweeps(
    drawer: Drawer,
    seed: int,
    axes: Sequence[tuple[str, int | torch.Tensor]],
    lo: float,
    hi: float,
    steps: int,
    label: int | None = None,
) -> Frames:
    """One row per axis: a raw dimension (int: set to each value) or a direction (D,) (moved by each
    value, in standard deviations), over ``steps`` values from ``lo`` to ``hi``."""
    values = torch.linspace(lo, hi, steps)
    z0 = seed_latent(seed, drawer.z_dim)
    z = torch.stack([sweep(z0, axis, values) for _, axis in axes])
    y = torch.full(z.shape[:2], _label(drawer, seed, label), dtype=torch.long)
    return _render(drawer, z, y, [name for name, _ in axes], [f"{v:+.1f}" for v in values.tolist()])


def classes(drawer: Drawer, seed: int) -> Frames:
    """The same z in every class (conditional models)."""
    if not drawer.conditional:
        raise ConfigError(
            f"this run's model ({drawer.family.name}) is not conditional: --mode classes needs a "
            "model that draws a chosen class (e.g. cgan)"
        )
    z, y = class_walk(seed_latent(seed, drawer.z_dim), range(drawer.num_classes))
    names = drawer.class_names or [str(k) for k in range(drawer.num_classes)]
    return _render(drawer, z[None], y[None], [f"seed {seed}, every class"], list(names))


def walk(drawer: Drawer, seed: int, steps: int, step_size: float = 0.3, label: int | None = None) -> Frames:
    """A seeded random walk from seed's latent that stays on the prior's shell."""
    z = random_walk(seed_latent(seed, drawer.z_dim), steps, step_size, seed=seed)
    y = torch.full((1, steps), _label(drawer, seed, label), dtype=torch.long)
    return _render(drawer, z[None], y, [f"random walk from seed {seed}"], [str(i) for i in range(steps)])


def through_training(drawer: Drawer, seeds: Sequence[int], label: int | None = None) -> Frames:
    """The same latents (one row per seed) drawn by every kept snapshot, one column per training step."""
    steps = drawer.snapshot_steps()
    if not steps:
        raise ConfigError(
            f"{drawer.run.path if drawer.run else 'this run'} kept no snapshots of its generator "
            "(runs trained before drawlab kept them have none): train a new run"
        )
    z = torch.stack([seed_latent(s, drawer.z_dim) for s in seeds])
    y = torch.tensor([_label(drawer, s, label) for s in seeds], dtype=torch.long)
    cols = [drawer.at_snapshot(step).draw(z, y) for step in steps]  # each (R, C, H, W)
    images = torch.stack(cols, 1)
    return Frames(
        images,
        z[:, None].expand(-1, len(steps), -1),
        y[:, None].expand(-1, len(steps)),
        [f"seed {s}" for s in seeds],
        [f"step {s}" for s in steps],
    )


# -- writing ----------------------------------------------------------------------------------------
OUT_SUFFIXES = (".png", ".gif", ".npz")


def _upscale(grid: np.ndarray, min_side: int = 192) -> Image.Image:
    im = Image.fromarray(grid)
    f = max(1, min_side // max(1, min(im.size)))
    return im.resize((im.width * f, im.height * f), Image.Resampling.NEAREST) if f > 1 else im


def titled_strip(frames: Frames, pad: int = 2) -> np.ndarray:
    """The rows x steps grid (uint8 (H, W) or (H, W, 3)) with each column's title above it and, for
    several rows, each row's title on the left."""
    r, t, c, h, w = frames.images.shape
    grid = grid_array(frames.images.reshape(r * t, c, h, w), nrow=t, pad=pad)
    tile = (grid.shape[1] - pad) // t - pad
    left = 6 * max(len(x) for x in frames.rows) + 8 if r > 1 and frames.rows else 0
    top = 14 if frames.cols else 0
    im = Image.new(Image.fromarray(grid).mode, (grid.shape[1] + left, grid.shape[0] + top), "white")
    im.paste(Image.fromarray(grid), (left, top))
    draw = ImageDraw.Draw(im)
    black = 0 if im.mode == "L" else (0, 0, 0)
    for j, title in enumerate(frames.cols):
        draw.text((left + pad + j * (tile + pad), 1), title[: max(1, tile // 6)], fill=black)
    if left:
        for i, title in enumerate(frames.rows):
            draw.text((2, top + pad + i * (tile + pad) + tile // 2 - 6), title, fill=black)
    return np.asarray(im)


def gif_bytes(frames: Frames, seconds: float = 3.0) -> bytes:
    """An endless GIF over the columns of ``frames`` (rows stacked in each frame), ``seconds`` long."""
    t = frames.images.shape[1]
    pics = [_upscale(grid_array(frames.images[:, i], nrow=1)) for i in range(t)]
    buf = io.BytesIO()
    pics[0].save(
        buf, format="GIF", save_all=True, append_images=pics[1:], duration=max(20, int(1000 * seconds / t)), loop=0
    )
    return buf.getvalue()


def save_frames(frames: Frames, out: str | Path, seconds: float = 3.0) -> Path:
    """Write ``frames`` by the file name: .png a strip (rows x steps), .gif a loop over the steps
    (``seconds`` long, rows stacked in each frame), .npz uint8 ``frames`` (R, T, H, W[, C]) with ``z``,
    ``labels``, ``rows`` and ``cols``."""
    out = Path(out)
    r, t = frames.images.shape[:2]
    suffix = out.suffix.lower()
    if suffix == ".png":
        return save_png(titled_strip(frames), out)
    if suffix == ".gif":
        return atomic_write_bytes(out, gif_bytes(frames, seconds))
    if suffix == ".npz":
        a = frames.images.numpy()
        a = a[:, :, 0] if a.shape[2] == 1 else a.transpose(0, 1, 3, 4, 2)
        arrays = {
            "frames": a,
            "z": frames.z.numpy(),
            "labels": frames.labels.numpy(),
            "rows": np.array(frames.rows),
            "cols": np.array(frames.cols),
        }
        # mypy matches **arrays against numpy's keyword-only ``allow_pickle: bool``; no key here is that
        return atomic_write(out, lambda tmp: np.savez_compressed(tmp, **arrays))  # type: ignore[arg-type]
    raise ConfigError(f"--out {out}: use a .png (strip), .gif (animation) or .npz (arrays) file name")
