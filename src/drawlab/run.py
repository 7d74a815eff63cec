"""One experiment on disk: its config, checkpoints, fixed noise, sample grids and logs.

Layout of a run directory::

    config.json                  everything needed to rebuild the run (TrainConfig + data facts)
    fixed_noise.safetensors      z (N, z_dim) and labels (N,) used for every progress grid
    checkpoints/step-0000200.safetensors   weights of every network (incl. EMA), no pickled code
    checkpoints/step-0000200.state.pt      optimizers, step, RNG states: tensors and numbers only
    checkpoints/latest.json      the newest complete checkpoint (written last, atomically)
    samples/step-0000200.png      grid from the fixed noise
    metrics.jsonl                one JSON record per logging interval (+ "eval" and "monitor" records)
    monitor/d_hist.npz           D's output histograms on fixed real and generated images, per epoch
    monitor/verdicts.jsonl       what went wrong, since when, and what to try
    monitor/*.png, *.gif         D heatmap, losses, evolution of the fixed-noise grid
    snapshots/step-0000500.safetensors   the sampling generator at log-spaced steps (never rotated)
    explore/                     cached principal directions of the generator (`drawlab interpolate`, `serve`)
    tb/                          TensorBoard event files

An exported model (``drawlab export RUN DIR``) is a run folder with only what sampling needs: config.json (with
an "export" section), model.safetensors (the sampling network), README.md (its model card) and samples.png.
``pretrained:NAME`` names one that ships inside the package (read-only; ``drawlab pretrained`` lists them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from . import faults
from .config import TrainConfig
from .errors import RunError
from .files import atomic_write, atomic_write_json
from .models import Family, FamilyContext, build_family
from .run_lock import RunLock

CONFIG = "config.json"
EXPORT_WEIGHTS = "model.safetensors"
EXPORT_FORMAT = "drawlab-export-1"
PRETRAINED = "pretrained:"
_STEP_RE = re.compile(r"step-(\d+)\.safetensors$")
SNAPSHOT_FORMAT = "drawlab-snapshot-1"


@dataclass
class Checkpoint:
    """A complete checkpoint: its step and its two files."""

    step: int
    weights: Path
    state: Path


class RunDir:
    """A run directory (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.read_only = str(path).startswith(PRETRAINED)
        self.path = pretrained_path(str(path)[len(PRETRAINED) :]) if self.read_only else Path(path)

    @property
    def is_export(self) -> bool:
        """An exported model: model.safetensors and no checkpoints/ (``drawlab export``)."""
        return (self.path / EXPORT_WEIGHTS).is_file() and not self.checkpoints.is_dir()

    def writable(self, what: str, instead: str = "give --out FILE") -> Path:
        """This run's folder for writing ``what``; RunError when it is a pretrained model's (read-only)."""
        if self.read_only:
            raise RunError(f"{what} would go into a pretrained model's folder, which is read-only: {instead}")
        return self.path

    # -- paths ------------------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def monitor(self) -> Path:
        """D histograms, verdicts and the monitor pictures."""
        return self.path / "monitor"

    @property
    def snapshots(self) -> Path:
        """The sampling generator's weights at log-spaced steps, kept outside the checkpoint rotation."""
        return self.path / "snapshots"

    @property
    def explore(self) -> Path:
        """Caches of the latent-space tools (principal directions)."""
        return self.path / "explore"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tb"

    def exists(self) -> bool:
        return (self.path / CONFIG).is_file()

    def lock(self) -> RunLock:
        """Hold the run for one training process (``with run.lock(): ...``): see RunLock."""
        return RunLock(self.path / ".lock")

    # -- config -----------------------------------------------------------------------------------
    def create(self, cfg: TrainConfig, facts: dict[str, Any]) -> None:
        """Start a new run: make the folders and write config.json (refuses to overwrite a run)."""
        if self.exists():
            raise RunError(
                f"{self.path} already holds a run: continue it with --resume {self.path}, or choose another --out"
            )
        try:
            for d in (self.path, self.checkpoints, self.samples):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a file in the way, no permission, ...
            raise RunError(
                f"cannot make the run directory {self.path} ({e.strerror or e}): choose another --out"
            ) from None
        self.write_config(cfg, facts)

    def write_config(self, cfg: TrainConfig, facts: dict[str, Any]) -> None:
        atomic_write_json(self.path / CONFIG, {"train": cfg.to_dict(), "facts": facts}, "config")

    def read_config(self) -> tuple[TrainConfig, dict[str, Any]]:
        """(TrainConfig, facts) from config.json; RunError when the folder is not a run."""
        p = self.path / CONFIG
        if not self.path.is_dir():
            what = "is a file, not a run directory" if self.path.exists() else "does not exist"
            raise RunError(f"run directory {self.path} {what}: give the --out folder of a `drawlab train` run")
        if not p.is_file():
            raise RunError(
                f"{self.path} is not a drawlab run (no {CONFIG}): give the --out folder of a `drawlab train` run"
            )
        try:
            d = json.loads(p.read_text())
            cfg, facts = TrainConfig.from_dict(d["train"]), d["facts"]
            _check_facts(facts)
            return cfg, facts
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise RunError(f"{p} is damaged ({e}); it cannot be resumed or sampled") from None

    # -- fixed noise ------------------------------------------------------------------------------
    def save_fixed_noise(self, z: torch.Tensor, labels: torch.Tensor) -> None:
        tensors = {"z": z.cpu().contiguous(), "labels": labels.cpu().contiguous()}
        atomic_write(self.path / "fixed_noise.safetensors", lambda tmp: save_file(tensors, str(tmp)), "config")

    def load_fixed_noise(self, n: int, z_dim: int, classes: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The run's fixed grid noise: z float32 (n, z_dim) and labels int64 (n,) in [0, max(classes, 1)); None
        when absent, unreadable or not that (it is seeded, so the trainer makes it again)."""
        try:
            t = load_file(str(self.path / "fixed_noise.safetensors"))
            z, y = t["z"], t["labels"]
        except Exception:
            return None
        ok = z.shape == (n, z_dim) and z.dtype == torch.float32 and y.shape == (n,) and y.dtype == torch.int64
        return (z, y) if ok and (n == 0 or 0 <= int(y.min()) <= int(y.max()) < max(classes, 1)) else None

    # -- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, family: Family, step: int, state: dict[str, Any], keep: int = 3) -> Checkpoint:
        """Write weights (safetensors) and training state (tensors/numbers only), then point
        latest.json at them; delete all but the newest ``keep`` checkpoints."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        stem = f"step-{step:07d}"
        ck = Checkpoint(step, self.checkpoints / f"{stem}.safetensors", self.checkpoints / f"{stem}.state.pt")
        weights, meta = _weights(family), {"format": "drawlab-1", "model": family.name, "step": str(step)}
        full = {"step": step, "optimizers": {k: o.state_dict() for k, o in family.opts.items()}, **state}
        atomic_write(ck.weights, lambda tmp: save_file(weights, str(tmp), metadata=meta), "checkpoint")
        atomic_write(ck.state, lambda tmp: torch.save(full, tmp), "checkpoint")
        faults.crash_point("checkpoint-latest")
        atomic_write_json(
            self.checkpoints / "latest.json",
            {"step": step, "weights": ck.weights.name, "state": ck.state.name},
            "latest",
        )
        faults.crash_point("checkpoint-rotate")
        self._rotate(keep)
        return ck

    def save_best(self, family: Family, step: int, info: dict[str, Any]) -> Path:
        """Keep the weights of ``step`` as checkpoints/best.safetensors (never rotated) with
        best.json saying which step and metric value made it the best."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        path, weights = self.checkpoints / "best.safetensors", _weights(family)
        meta = {"format": "drawlab-1", "model": family.name, "step": str(step)}
        atomic_write(path, lambda tmp: save_file(weights, str(tmp), metadata=meta), "checkpoint")
        atomic_write_json(self.checkpoints / "best.json", {"step": step, **info}, "checkpoint")
        return path

    def read_best(self) -> dict[str, Any] | None:
        """The best.json record ({"step", "metric", "value"}), or None."""
        try:
            return json.loads((self.checkpoints / "best.json").read_text())
        except (OSError, ValueError):
            return None

    def list_checkpoints(self) -> list[Checkpoint]:
        """Complete checkpoints (both files present), oldest first."""
        out = []
        for p in self.checkpoints.glob("step-*.safetensors"):
            m = _STEP_RE.search(p.name)
            state = p.with_name(p.name.replace(".safetensors", ".state.pt"))
            if m and state.is_file():
                out.append(Checkpoint(int(m.group(1)), p, state))
        return sorted(out, key=lambda c: c.step)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest complete checkpoint (latest.json, else the newest pair on disk), or None."""
        try:
            d = json.loads((self.checkpoints / "latest.json").read_text())
            ck = Checkpoint(int(d["step"]), self.checkpoints / d["weights"], self.checkpoints / d["state"])
            if ck.weights.is_file() and ck.state.is_file():
                return ck
        except (OSError, ValueError, KeyError, TypeError):
            pass
        cks = self.list_checkpoints()
        return cks[-1] if cks else None

    def find_checkpoint(self, which: str | int | None = None) -> Checkpoint:
        """``None``/'latest' -> the newest; an int step or a file path -> that one; RunError otherwise."""
        if self.is_export:
            if which not in (None, "latest"):
                raise RunError(f"{self.path} is an exported model with one set of weights: drop --checkpoint")
            self.read_config()  # one line when config.json is missing or damaged
            step = int(json.loads((self.path / CONFIG).read_text()).get("export", {}).get("step", 0))
            return Checkpoint(step, self.path / EXPORT_WEIGHTS, self.path / "no-training-state")
        if which == "best":
            best, path = self.read_best(), self.checkpoints / "best.safetensors"
            if best is None or not path.is_file():
                raise RunError(f"{self.path} has no best checkpoint: train it with --eval-every N to keep one")
            return Checkpoint(int(best["step"]), path, path.with_name("best.state.pt"))
        if which in (None, "latest"):
            ck = self.latest_checkpoint()
            if ck is None:
                raise RunError(f"{self.path} has no checkpoint yet: train it first (`drawlab train --out {self.path}`)")
            return ck
        for ck in self.list_checkpoints():
            if (
                str(which) in (str(ck.step), str(ck.weights), ck.weights.name)
                or Path(str(which)).expanduser().resolve() == ck.weights.resolve()
            ):
                return ck
        steps = ", ".join(str(c.step) for c in self.list_checkpoints()) or "none"
        raise RunError(f"no checkpoint {which!r} in {self.path} (steps available: {steps})")

    def load_weights(self, family: Family, ck: Checkpoint) -> None:
        """Load every network's weights from ``ck`` into ``family`` (strict: names and shapes must match)."""
        try:
            tensors = load_file(str(ck.weights))
        except Exception as e:
            raise RunError(f"cannot read {ck.weights} ({e}); delete it to fall back to an older checkpoint") from None
        names: set[str] | list[str] = list(family.nets)
        if self.is_export:  # only the sampling network was exported
            names = {k.split(".", 1)[0] for k in tensors}
            unknown = sorted(n for n in names if n not in family.nets)
            if unknown or family.drawing_net() not in names:
                raise RunError(
                    f"{ck.weights} does not hold this model's sampling network ({family.drawing_net()}): "
                    "export the run again"
                )
        for name in names:
            net, prefix = family.nets[name], name + "."
            sd = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            try:
                net.load_state_dict(sd, strict=True)
            except RuntimeError as e:
                raise RunError(f"{ck.weights} does not fit the run's model ({str(e).splitlines()[0]})") from None

    def open_family(
        self, checkpoint: str | int | None, device: torch.device
    ) -> tuple[Family, TrainConfig, dict[str, Any], Checkpoint]:
        """(family with the checkpoint's weights on ``device``, config, facts, checkpoint), for sampling."""
        cfg, facts = self.read_config()
        ck = self.find_checkpoint(checkpoint)
        try:
            family = build_family(
                cfg.model, tuple(facts["shape"]), int(facts["num_classes"]), FamilyContext(steps_done=ck.step)
            )
        except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as e:  # values no model can have
            why = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise RunError(
                f"{self.path / CONFIG} describes a model drawlab cannot build ({why}): fix it, or train a new run"
            ) from None
        self.load_weights(family, ck)
        family.to(device, channels_last=True)
        return family, cfg, facts, ck

    # -- snapshots ------------------------------------------------------------------------------
    def save_snapshot(self, family: Family, step: int) -> Path:
        """Keep the sampling generator (the EMA copy when there is one) of ``step`` as
        snapshots/step-NNNNNNN.safetensors: its weights only, for drawing, not for resuming."""
        name = "G_ema" if "G_ema" in family.nets else "G"
        weights = {k: v.detach().cpu().contiguous() for k, v in family.nets[name].state_dict().items()}
        meta = {"format": SNAPSHOT_FORMAT, "model": family.name, "step": str(step), "net": name}
        path = self.snapshots / f"step-{step:07d}.safetensors"
        self.snapshots.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: save_file(weights, str(tmp), metadata=meta), "snapshot")
        return path

    def list_snapshots(self) -> dict[int, Path]:
        """{step: file} of the kept snapshots, by step."""
        found = {
            int(m.group(1)): p for p in self.snapshots.glob("step-*.safetensors") if (m := _STEP_RE.search(p.name))
        }
        return dict(sorted(found.items()))

    def trim_snapshots(self, last_step: int) -> None:
        """Delete snapshots after ``last_step`` (a resume goes back to its checkpoint and takes them again)."""
        for step, p in self.list_snapshots().items():
            if step > last_step:
                p.unlink(missing_ok=True)

    def load_snapshot(self, family: Family, step: int) -> None:
        """Put the snapshot of ``step`` into ``family``'s sampling generator; RunError lists the steps kept."""
        snaps = self.list_snapshots()
        if step not in snaps:
            kept = ", ".join(map(str, snaps)) or "none (train it with this version of drawlab to keep them)"
            raise RunError(f"{self.path} has no snapshot at step {step} (steps kept: {kept})")
        try:
            tensors = load_file(str(snaps[step]))
            family.sampler().load_state_dict(tensors, strict=True)
        except Exception as e:
            why = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise RunError(f"cannot use {snaps[step]} ({why}): delete it") from None

    def load_state(self, family: Family, ck: Checkpoint) -> dict[str, Any]:
        """Load optimizer states into ``family`` and return the rest of the training state."""
        try:
            state = torch.load(ck.state, map_location="cpu", weights_only=True)
            _check_state(state)
            for k, opt in family.opts.items():
                opt.load_state_dict(state["optimizers"][k])
        except Exception as e:
            why = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise RunError(f"cannot read {ck.state} ({why}); delete it to fall back to an older checkpoint") from None
        return state

    def training_seconds(self, ck: Checkpoint) -> float | None:
        """Seconds of training up to checkpoint ``ck`` (its state's ``elapsed``); None when unreadable."""
        try:
            state = torch.load(ck.state, map_location="cpu", weights_only=True)
            _check_state(state)
        except Exception:
            return None
        return float(state.get("elapsed", 0.0))

    def _rotate(self, keep: int) -> None:
        """Delete all but the newest ``keep`` checkpoints up to the one latest.json names (never that one,
        never a later one: a stale checkpoint past it is ``clear_after``'s to remove)."""
        latest = self.latest_checkpoint()
        cks = [c for c in self.list_checkpoints() if latest is None or c.step <= latest.step]
        for ck in cks[: -max(1, keep)]:
            for p in (ck.weights, ck.state):
                p.unlink(missing_ok=True)

    def clear_after(self, step: int) -> list[Path]:
        """Delete checkpoints, sample grids and snapshots of steps after ``step`` (left by a hard stop or a
        rollback: the run redoes those steps, and their old files would mix two histories), and temporary
        files a killed writer left. Returns what it deleted."""
        gone = []
        for folder, pattern in (
            (self.checkpoints, "step-*"),
            (self.samples, "step-*.png"),
            (self.snapshots, "step-*.safetensors"),
        ):
            for p in folder.glob(pattern):
                m = re.match(r"step-(\d+)\.", p.name)
                if m and int(m.group(1)) > step:
                    p.unlink(missing_ok=True)
                    gone.append(p)
        for folder in (self.path, self.checkpoints, self.samples, self.snapshots, self.monitor):
            for p in folder.glob(".*.tmp*"):  # half-written by a process killed mid-write
                p.unlink(missing_ok=True)
                gone.append(p)
        return gone


def _whole(v: Any, low: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _check_facts(facts: Any) -> None:
    """ValueError unless config.json's facts describe images and classes drawlab can draw."""
    if not isinstance(facts, dict):
        raise ValueError("its facts are not a set of values")
    shape = facts.get("shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(_whole(v, 1) for v in shape) and shape[0] in (1, 3)):
        raise ValueError(f"shape is {shape!r}, not [channels 1 or 3, height, width]")
    if not _whole(facts.get("num_classes")):
        raise ValueError(f"num_classes is {facts.get('num_classes')!r}, not a whole number")
    names = facts.get("class_names", [])
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ValueError("class_names is not a list of names")


def _check_state(state: Any) -> None:
    """ValueError unless ``state`` has the types a checkpoint's training state has."""
    if not isinstance(state, dict):
        raise ValueError("not a training state")
    if isinstance(state.get("step"), bool) or not isinstance(state.get("step"), int) or state["step"] < 0:
        raise ValueError(f"step is {state.get('step')!r}, not a whole number")
    if not isinstance(state.get("elapsed", 0.0), (int, float)):
        raise ValueError(f"elapsed is {state.get('elapsed')!r}, not seconds")
    if not isinstance(state.get("optimizers"), dict):
        raise ValueError("no optimizer states")
    for k in ("rng_cpu", "rng_train"):
        t = state.get(k)
        if not torch.is_tensor(t) or t.dtype != torch.uint8 or t.dim() != 1:
            raise ValueError(f"{k} is not a random generator's state")
    if state["rng_cpu"].numel() != torch.get_rng_state().numel():
        raise ValueError("rng_cpu is not a CPU generator's state")


def _weights(family: Family) -> dict[str, torch.Tensor]:
    """Every network's state as flat "NET.param" -> CPU tensor, for safetensors."""
    return {
        f"{name}.{k}": v.detach().cpu().contiguous()
        for name, net in family.nets.items()
        for k, v in net.state_dict().items()
    }


def pretrained_path(name: str) -> Path:
    """The folder of the pretrained model ``name`` inside the package; RunError when there is none."""
    root = pretrained_root()
    names = pretrained_names()
    if name not in names:
        known = ", ".join(names) or "none"
        raise RunError(f"no pretrained model {name!r}: use one of {known} (`drawlab pretrained` lists them)")
    return root / name


def pretrained_root() -> Path:
    """Where the pretrained models lie: the package's ``pretrained/`` folder."""
    from importlib import resources

    return Path(str(resources.files("drawlab"))) / "pretrained"


def pretrained_names() -> list[str]:
    """The pretrained models that ship with drawlab (folders holding an exported model), sorted."""
    root = pretrained_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / EXPORT_WEIGHTS).is_file() and (p / CONFIG).is_file())
