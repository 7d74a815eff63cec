"""What the explorer page shows, without HTTP: a request's parameters -> a picture and D's view of it.

Parameters (all optional, strings as they come from a query):
``run`` index of the run; ``seed``; ``label``; ``dirs`` comma-separated offsets along the principal
directions (in standard deviations); ``dim`` and ``dimval`` one raw latent dimension set to a value;
``seed2``, ``t`` and ``interp`` (lerp|slerp) the interpolation towards a second seed; ``snapshot`` a
kept training step (empty: the run's checkpoint). With everything at its default the picture is
``drawlab sample --seeds SEED``.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..api import Drawer, load
from ..data.batches import to_unit_range
from ..errors import ConfigError
from ..explore.directions import SAMPLES, Directions, principal_directions_of
from ..explore.frames import gif_bytes, interpolation
from ..explore.inspect import heat, saliency
from ..latent import lerp, seed_label, seed_latent, slerp
from ..models.adversarial import AdversarialFamily

SMOOTH = 8  # SmoothGrad samples for the page's saliency (16 in `drawlab inspect`): fast enough to follow a slider


def png_bytes(a: np.ndarray) -> bytes:
    """uint8 (H, W) or (H, W, 3) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _hwc(img: torch.Tensor) -> np.ndarray:
    a = img.permute(1, 2, 0).numpy()
    return a[..., 0] if a.shape[2] == 1 else a


@dataclass
class Loaded:
    """One run as the explorer holds it: its drawer, principal directions and snapshot drawers."""

    name: str
    drawer: Drawer
    directions: Directions | None
    snapshots: dict[int, Drawer] = field(default_factory=dict)


@dataclass
class View:
    """One picture: PNG bytes, its latent and label, D's reading (None without D), its saliency PNG."""

    png: bytes
    z: torch.Tensor
    label: int
    d_value: float | None
    saliency_png: bytes | None
    ms: float


class Explorer:
    """Holds the runs (loaded once) and answers views; thread-safe (one picture at a time)."""

    def __init__(
        self,
        run_dirs: list[str],
        device: str = "cpu",
        k: int = 6,
        sampling: dict[str, Any] | None = None,
        say: Callable[[str], None] | None = None,
    ):
        """Load each run; ``say`` hears what takes time (the principal directions of each GAN's first layer)."""
        self.runs: list[Loaded] = []
        asked = {key: v for key, v in (sampling or {}).items() if v is not None}
        for path in run_dirs:
            d = load(path, device=device)
            if asked and d.family.latent_is_image:  # the denoisers' steps and guidance; the GANs draw in one pass
                d.family.set_sampling(**asked)
            steps_of_noise = d.family.latent_is_image  # no first layer of a z vector: no principal directions
            name = str(path).rstrip("/").split("/")[-1] or str(path)
            dirs = None
            if k > 0 and not steps_of_noise:
                if say is not None:
                    say(
                        f"explorer: {name}: its {min(k, d.z_dim)} principal directions in z (GANSpace, {SAMPLES:,} latents "
                        "through G's first layer; --directions 0 skips them) ..."
                    )
                dirs = principal_directions_of(d, k=min(k, d.z_dim))
            self.runs.append(Loaded(name, d, dirs))
        if asked and not any(r.drawer.family.latent_is_image for r in self.runs):
            raise ConfigError(
                "--sample-steps, --guidance, --sampler and the other sampling options apply to the denoisers (flow, "
                "ddpm): drop them"
            )
        self.lock = threading.Lock()

    # -- description ---------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What the page needs to build its controls."""
        out = []
        for r in self.runs:
            d = r.drawer
            out.append(
                {
                    "name": r.name,
                    "model": d.family.name,
                    "data": d.facts.get("data_name", ""),
                    "step": d.step,
                    "z_dim": d.z_dim,
                    "shape": list(d.shape),
                    "conditional": d.conditional,
                    "classes": (d.class_names or [str(i) for i in range(d.num_classes)]) if d.conditional else [],
                    "directions": [round(100 * float(s), 1) for s in r.directions.share] if r.directions else [],
                    "snapshots": d.snapshot_steps(),
                    "has_d": d.has_discriminator,
                    "d_scale": d.family.readout.scale.value
                    if isinstance(d.family, AdversarialFamily) and d.has_discriminator
                    else None,
                }
            )
        return {"runs": out}

    # -- parameters ----------------------------------------------------------------------------
    def _run(self, q: Mapping[str, str]) -> Loaded:
        i = _int(q, "run", 0)
        if not 0 <= i < len(self.runs):
            raise ConfigError(f"run {i} does not exist: there are {len(self.runs)}")
        return self.runs[i]

    def _drawer(self, r: Loaded, q: Mapping[str, str]) -> Drawer:
        s = q.get("snapshot", "")
        if s in ("", "final"):
            return r.drawer
        step = _int(q, "snapshot", 0)
        if step not in r.snapshots:
            r.snapshots[step] = r.drawer.at_snapshot(step)
        return r.snapshots[step]

    def latent(self, r: Loaded, q: Mapping[str, str]) -> tuple[torch.Tensor, int]:
        """(z (z_dim,), label) for a request: seed, then interpolation, directions, raw dimension."""
        d = r.drawer
        seed = _int(q, "seed", 0, 0, 2**63 - 1)
        z = seed_latent(seed, d.z_dim)
        if q.get("seed2", "") != "":
            t = _float(q, "t", 0.0, 0.0, 1.0)
            mode = q.get("interp", "slerp")
            if mode not in ("lerp", "slerp"):
                raise ConfigError(f"interp {mode!r}: use lerp or slerp")
            z2 = seed_latent(_int(q, "seed2", 0, 0, 2**63 - 1), d.z_dim)
            z = (slerp if mode == "slerp" else lerp)(z, z2, t)
        try:
            offsets = [float(v) for v in q.get("dirs", "").split(",") if v.strip() != ""]
        except ValueError:
            raise ConfigError(f"dirs={q.get('dirs')!r}: give numbers separated by commas") from None
        n_dirs = 0 if r.directions is None else len(r.directions.vectors)
        if len(offsets) > n_dirs:
            raise ConfigError(f"{len(offsets)} direction offsets, but this run has {n_dirs} directions")
        for k, v in enumerate(offsets):
            if not -10 <= v <= 10:
                raise ConfigError(f"direction offset {v} is out of range: use -10..10")
            if v and r.directions is not None:  # not None whenever there are offsets (checked above)
                z = z + v * r.directions.vectors[k]
        dim = _int(q, "dim", -1, -1, d.z_dim - 1)
        if dim >= 0:
            z = z.clone()
            z[dim] = _float(q, "dimval", float(z[dim]), -10.0, 10.0)
        label = seed_label(seed, d.num_classes)
        if q.get("label", "") != "":
            label = _int(q, "label", 0, 0, max(0, d.num_classes - 1))
        return z, label

    # -- answers -------------------------------------------------------------------------------
    def view(self, q: Mapping[str, str]) -> View:
        """The picture for ``q`` and, for runs with D, D's reading and saliency of it."""
        t0 = time.perf_counter()
        r = self._run(q)
        z, label = self.latent(r, q)
        with self.lock:
            d = self._drawer(r, q)
            y = torch.tensor([label])
            img = d.draw(z[None], y if d.conditional else None)[0]
            value = sal = None
            if isinstance(d.family, AdversarialFamily) and d.has_discriminator and q.get("saliency", "1") != "0":
                maps, logits = saliency(d, to_unit_range(img[None]), y, smooth=SMOOTH)
                value = float(d.family.readout.values(logits)[0])
                sal = png_bytes(heat(maps[0], img))
        return View(png_bytes(_hwc(img)), z, label, value, sal, 1000 * (time.perf_counter() - t0))

    def view_json(self, q: Mapping[str, str]) -> dict[str, Any]:
        v = self.view(q)
        return {
            "image": data_url(v.png),
            "label": v.label,
            "d": v.d_value,
            "saliency": data_url(v.saliency_png) if v.saliency_png else None,
            "ms": round(v.ms, 1),
        }

    def gif(self, q: Mapping[str, str]) -> bytes:
        """An interpolation GIF from ``seed`` to ``seed2`` (24 frames, ``interp``) in the shown class."""
        r = self._run(q)
        _, label = self.latent(r, {k: v for k, v in q.items() if k not in ("seed2", "dirs", "dim")})
        a = _int(q, "seed", 0, 0, 2**63 - 1)
        b = _int(q, "seed2", a + 1, 0, 2**63 - 1) if q.get("seed2", "") != "" else a + 1
        with self.lock:
            d = self._drawer(r, q)
            f = interpolation(d, a, b, 24, q.get("interp", "slerp") != "lerp", label if d.conditional else None)
        return gif_bytes(f, 3.0)


def _number(q: Mapping[str, str], key: str, default, lo, hi, cast=int):
    """Parameter ``key`` as ``cast`` (int or float) in [lo, hi], ``default`` when absent; ConfigError otherwise."""
    raw = q.get(key, "")
    if raw == "":
        return default
    try:
        v = cast(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r}: give {'a whole number' if cast is int else 'a number'}") from None
    if not lo <= v <= hi:
        raise ConfigError(f"{key}={v} is out of range: give {lo}..{hi}")
    return v


def _int(q: Mapping[str, str], key: str, default: int, lo: int = -(2**63), hi: int = 2**63 - 1) -> int:
    return _number(q, key, default, lo, hi, int)


def _float(q: Mapping[str, str], key: str, default: float, lo: float, hi: float) -> float:
    return _number(q, key, default, lo, hi, float)
