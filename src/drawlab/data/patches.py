"""``patches:PATH.png``: many small crops of one large drawing, the faces article's starting point
("subsampling bits of one giant doodle").

``n`` crops of ``size`` x ``size`` at random places (optionally flipped and turned by multiples of 90
degrees), drawn once from a generator seeded with ``seed``: the same spec gives the same crops. The
crops overlap, so memorisation (`drawlab evaluate`) matters most here. ``patches:example`` is a
drawing made by ``make_doodle`` (random strokes, loops and dots drawn with Pillow), written under the
data root on first use, so a demo needs no download.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageDraw

from drawlab.data.base import Argument, Source, Spec, register, user_path
from drawlab.data.dataset import ImageDataset, make_fingerprint
from drawlab.errors import DataError

if TYPE_CHECKING:
    from drawlab.config import DataConfig

EXAMPLE = "example"
DEFAULT_PATCH_SIZE = 32
DEFAULT_PATCHES = 4000


def make_doodle(side: int = 768, seed: int = 0) -> Image.Image:
    """A grey doodle (side x side): wavy strokes, loops and dots in black on white, from ``seed``; dense
    enough that a 32x32 crop almost always holds a stroke."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(im)
    for _ in range(side // 2):
        kind = rng.choice(["wave", "loop", "dot"], p=[0.5, 0.3, 0.2])
        x, y = rng.uniform(0, side, 2)
        if kind == "wave":  # a smooth random walk of the heading
            heading, pts = rng.uniform(0, 2 * math.pi), [(x, y)]
            for _ in range(int(rng.integers(10, 40))):
                heading += rng.normal(0, 0.35)
                x, y = x + 6 * math.cos(heading), y + 6 * math.sin(heading)
                pts.append((x, y))
            draw.line(pts, fill=int(rng.integers(0, 80)), width=int(rng.integers(2, 6)), joint="curve")
        elif kind == "loop":
            r = rng.uniform(6, 24)
            draw.ellipse(
                [x - r, y - r * rng.uniform(0.5, 1), x + r, y + r],
                outline=int(rng.integers(0, 80)),
                width=int(rng.integers(2, 5)),
            )
        else:
            r = rng.uniform(2, 5)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.integers(0, 80)))
    return im


def example_path(data_root: Path) -> Path:
    """The example drawing under the data root, drawn on first use."""
    path = data_root / "patches" / "example-doodle-v2.png"  # v2: denser (v1 left mostly blank crops)
    if not path.is_file():
        from drawlab.files import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: make_doodle().save(tmp, format="PNG"))
    return path


def _load(path: Path, channels: int | None) -> np.ndarray:
    """The drawing as uint8 (C, H, W); DataError when missing or not an image."""
    if not path.is_file():
        raise DataError(
            f"patches:{path}: no such file: give one large image, e.g. patches:drawing.png (or patches:example)"
        )
    try:
        with Image.open(path) as im:
            im.load()
            colour = im.mode not in ("1", "L", "LA", "I", "I;16", "F")
            c = channels or (3 if colour else 1)
            a = np.asarray(im.convert("RGB" if c == 3 else "L"), dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DataError(
            f"patches:{path} is not an image drawlab can read ({e}): give a png, jpg, webp or bmp"
        ) from None
    return a.transpose(2, 0, 1) if a.ndim == 3 else a[None]


def open_patches(
    spec_path: Path,
    data_root: Path,
    size: int | None,
    channels: int | None,
    n: int = DEFAULT_PATCHES,
    flips: bool = False,
    seed: int = 0,
) -> ImageDataset:
    """``n`` crops (uint8 (n, C, size, size)) of the drawing at ``spec_path`` (or the example drawing)."""
    size = size or DEFAULT_PATCH_SIZE
    if n < 1:
        raise DataError(f"--patches must be at least 1, got {n}")
    path = example_path(data_root) if str(spec_path) == EXAMPLE else user_path(spec_path)
    img = torch.from_numpy(_load(path, channels).copy())
    c, h, w = img.shape
    if h < size or w < size:
        raise DataError(
            f"patches:{path} is {w}x{h}, smaller than a {size}x{size} crop: give a larger drawing or a smaller --size"
        )
    g = torch.Generator().manual_seed(seed)
    ys = torch.randint(0, h - size + 1, (n,), generator=g)
    xs = torch.randint(0, w - size + 1, (n,), generator=g)
    crops = torch.stack([img[:, y : y + size, x : x + size] for y, x in zip(ys.tolist(), xs.tolist())])
    if flips:
        turns = torch.randint(0, 4, (n,), generator=g)
        mirror = torch.rand(n, generator=g) < 0.5
        crops = torch.stack(
            [torch.rot90(cr.flip(-1) if m else cr, int(k), (1, 2)) for cr, k, m in zip(crops, turns, mirror)]
        )
    digest = hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
    name = f"patches:{EXAMPLE if str(spec_path) == EXAMPLE else path.name}"
    return ImageDataset(
        name=name,
        shape=(c, size, size),
        num_classes=0,
        class_names=[],
        images=crops.contiguous(),
        labels=None,
        fingerprint=make_fingerprint("patches", digest, size, c, n, flips, seed),
    )


@register
class Patches(Source):
    """``patches:IMAGE``: crops of one drawing; ``patches:example`` is the doodle drawlab draws itself."""

    name = "patches"
    summary = (
        "crops of one large drawing (png/jpg/...); patches:example is a doodle drawlab draws itself; "
        f"--size (default {DEFAULT_PATCH_SIZE}), --patches N crops, --patch-flips"
    )
    rank = 40
    argument = Argument.IMAGE
    hint = "an image, e.g. patches:drawing.png (or patches:example)"

    def absolute(self, spec: Spec) -> str:
        return f"{self.name}:{EXAMPLE}" if spec.arg == EXAMPLE else super().absolute(spec)

    def open(self, spec: Spec, dc: DataConfig, root: Path, max_memory_bytes: int) -> ImageDataset:
        assert spec.arg is not None
        return open_patches(Path(spec.arg), root, dc.size, dc.channels, dc.patches, dc.patch_flips)
