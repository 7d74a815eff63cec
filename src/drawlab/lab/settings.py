"""The 2D lab's settings: one dataclass, each field declared once with its range and help. The CLI's
options, the page's controls and the JSON that replays a run (``--settings FILE``) are all made from it.

``LIVE`` fields may change while a run trains (the networks are kept); the others define the networks
and the data, so changing them starts a new run. ``schedule`` holds the live changes of a run, by step,
so that a run changed by hand on the page replays exactly from its JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from ..config import Range
from ..errors import ConfigError
from ..losses import LOSSES


class Noise(Enum):
    """G's input noise: a standard Gaussian, or uniform on [-1, 1]."""

    GAUSSIAN = "gaussian"
    UNIFORM = "uniform"


class Family(Enum):
    """What learns the data: a GAN (G against D), or a denoiser whose field carries noise to data."""

    GAN = "gan"
    FLOW = "flow"  # flow matching: the velocity field of the straight path from noise to data
    DDPM = "ddpm"  # denoising diffusion (v prediction, cosine schedule), drawn by DDIM


class Optim(Enum):
    """The optimiser of both networks."""

    ADAM = "adam"
    SGD = "sgd"


def _f(default: Any, help: str, rng: Range | None = None, live: bool = False, choices: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"help": help, "range": rng, "live": live, "choices": choices})


@dataclass(frozen=True)
class Settings:
    """Everything that decides a 2D run: the same settings (seed included) give the same run, always."""

    dist: str = _f("ring8", "the data: ring8, grid25, swissroll, moons, spirals, checkerboard, line")
    model: Family = _f(  # noqa: RUF009
        Family.GAN,
        "what learns: gan (G against D), flow (flow matching: a network learns the velocity from noise to data) "
        "or ddpm (denoising diffusion, v prediction); flow and ddpm use G's width, depth and learning rate",
        choices=tuple(m.value for m in Family),
    )
    loss: str = _f("nonsaturating", "the adversarial loss (drawlab losses lists them)", live=True)
    seed: int = _f(0, "the same seed gives the same run", Range(0, 2**31 - 1, integer=True))
    steps: int = _f(
        5000, "training steps (each: d-steps D updates, then g-steps G updates)", Range(1, 10**7, integer=True)
    )
    batch: int = _f(256, "points per batch", Range(2, 65536, integer=True))
    noise: Noise = _f(Noise.GAUSSIAN, "G's input noise", choices=tuple(n.value for n in Noise))  # noqa: RUF009
    noise_dim: int = _f(2, "G's input dimension (1 or 2)", Range(1, 2, integer=True))
    g_depth: int = _f(3, "G's hidden layers", Range(1, 8, integer=True))
    g_width: int = _f(64, "G's units per hidden layer", Range(1, 1024, integer=True))
    d_depth: int = _f(3, "D's hidden layers", Range(1, 8, integer=True))
    d_width: int = _f(64, "D's units per hidden layer", Range(1, 1024, integer=True))
    optimizer: Optim = _f(Optim.ADAM, "the optimiser", choices=tuple(o.value for o in Optim))  # noqa: RUF009
    lr_g: float = _f(1e-3, "G's learning rate", Range(0, 10, lo_open=True, hint="e.g. 1e-3"), live=True)
    lr_d: float = _f(1e-3, "D's learning rate", Range(0, 10, lo_open=True, hint="e.g. 1e-3"), live=True)
    beta1: float = _f(0.5, "Adam's beta1", Range(0, 1, hi_open=True))
    d_steps: int = _f(1, "D updates per step", Range(1, 100, integer=True), live=True)
    g_steps: int = _f(1, "G updates per step", Range(1, 100, integer=True), live=True)
    unroll: int = _f(
        0, "unrolled D (Metz et al. 2017): G's loss looks k D updates ahead", Range(0, 20, integer=True), live=True
    )
    pack: int = _f(1, "packing (PacGAN, Lin et al. 2018): D judges m points at once", Range(1, 8, integer=True))
    r1: float = _f(0.0, "R1 weight gamma on real points (Mescheder et al. 2018)", Range(0, 1e4), live=True)
    gp: float = _f(
        0.0, "gradient penalty weight (WGAN-GP; 10 when the loss is wgan-gp and this is 0)", Range(0, 1e4), live=True
    )
    spectral_norm: bool = _f(False, "spectral normalisation of D's layers (Miyato et al. 2018)")
    ema: float = _f(
        0.0, "EMA of G's weights per step (e.g. 0.99; 0 = off): scored and drawn when on", Range(0, 1, hi_open=True)
    )
    instance_noise: float = _f(
        0.0, "std of noise added to every point D sees, decaying to 0 over the run", Range(0, 10), live=True
    )
    smoothing: float = _f(0.0, "one-sided label smoothing of D's real targets", Range(0, 0.5), live=True)
    flip: float = _f(0.0, "share of D's targets flipped", Range(0, 1), live=True)
    sample_steps: int = _f(
        20,
        "steps of the ODE (flow, Euler) or of DDIM (ddpm) when a denoiser draws",
        Range(1, 200, integer=True),
        live=True,
    )
    eval_every: int = _f(100, "steps between two evaluations (2,500 points each)", Range(1, 10**6, integer=True))
    schedule: tuple[tuple[int, tuple[tuple[str, Any], ...]], ...] = field(
        default=(), metadata={"help": "live changes by step", "range": None, "live": False, "choices": ()}
    )

    def check(self) -> Settings:
        """These settings, or ConfigError with one line naming the bad one."""
        from .dists import DISTS

        for f in fields(self):
            value, rng = getattr(self, f.name), f.metadata["range"]
            why = rng.problem(value) if rng is not None else None
            if why:
                raise ConfigError(f"--{flag(f.name)} {why}")
        if self.dist not in DISTS and self.dist != "points":
            raise ConfigError(f"--dist {self.dist!r} is not known: use one of {', '.join(DISTS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"--loss {self.loss!r} is not known: use one of {', '.join(LOSSES)}")
        if self.batch % self.pack:
            raise ConfigError(f"--batch {self.batch} must be a multiple of --pack {self.pack}")
        if self.smoothing and not LOSSES[self.loss].supports_smoothing:
            raise ConfigError(f"--smoothing is not defined for --loss {self.loss}: drop it or use nonsaturating")
        if self.model is not Family.GAN:
            if self.noise_dim != 2:
                raise ConfigError(f"--model {self.model.value} starts from 2D noise: drop --noise-dim or set it to 2")
            if self.pack > 1 or self.unroll > 0:
                raise ConfigError(f"--pack and --unroll are remedies of GANs: drop them for --model {self.model.value}")
            if self.model is Family.DDPM and self.noise is not Noise.GAUSSIAN:
                raise ConfigError("--model ddpm starts from Gaussian noise: drop --noise uniform (a flow may use it)")
        for step, changes in self.schedule:
            if step < 0:
                raise ConfigError(f"a scheduled change has step {step}: steps are >= 0")
            replace(dataclasses.replace(self, schedule=()), **dict(changes))  # each change valid on its own
        return self

    def penalty_weight(self) -> float:
        """The gradient-penalty weight in force: ``gp``, or 10 under wgan-gp when none is given."""
        return self.gp if self.gp > 0 or LOSSES[self.loss].needs_penalty is None else 10.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Enum):
                v = v.value
            if f.name == "schedule":
                v = [{"step": s, **dict(ch)} for s, ch in v]
            out[f.name] = v
        return out


LIVE = tuple(f.name for f in fields(Settings) if f.metadata["live"])


def flag(name: str) -> str:
    return name.replace("_", "-")


def _coerce(name: str, value: Any) -> Any:
    """A JSON or CLI value for field ``name`` as the dataclass holds it (an Enum from its value)."""
    f = {f.name: f for f in fields(Settings)}[name]
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    enums: dict[str, type[Enum]] = {"Noise": Noise, "Optim": Optim, "Family": Family}
    if kind in enums:
        enum = enums[kind]
        try:
            return enum(value)
        except ValueError:
            raise ConfigError(
                f"--{flag(name)} {value!r} is not known: use one of {', '.join(e.value for e in enum)}"
            ) from None
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"--{flag(name)} must be true or false, got {value!r}")
        return value
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "str" and not isinstance(value, str):
        raise ConfigError(f"--{flag(name)} must be a name, got {value!r}")
    return value


def replace(s: Settings, **changes: Any) -> Settings:
    """``s`` with ``changes`` (values as JSON or the CLI give them), checked; ConfigError for an unknown name."""
    names = {f.name for f in fields(Settings)} - {"schedule"}
    for k in changes:
        if k not in names:
            raise ConfigError(f"{k!r} is not a lab setting: use one of {', '.join(sorted(names))}")
    return dataclasses.replace(s, **{k: _coerce(k, v) for k, v in changes.items()}).check()


def from_json(obj: Any) -> Settings:
    """Settings from a JSON object (``Settings.to_json``'s form); ConfigError with one line when it is not."""
    if not isinstance(obj, dict):
        raise ConfigError("lab settings must be a JSON object of setting: value")
    obj = dict(obj)
    raw = obj.pop("schedule", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) and isinstance(c.get("step"), int) for c in raw):
        raise ConfigError('"schedule" must be a list of {"step": N, setting: value, ...}')
    s = replace(Settings(), **obj)  # checked without the schedule, which follows
    sched = []
    for c in raw:
        ch = {k: v for k, v in c.items() if k != "step"}
        for k in ch:
            if k not in LIVE:
                raise ConfigError(f"{k!r} cannot change during a run: the live settings are {', '.join(LIVE)}")
        replace(s, **ch)
        sched.append((c["step"], tuple(sorted(ch.items()))))
    return dataclasses.replace(s, schedule=tuple(sorted(sched, key=lambda t: t[0]))).check()


def read_settings(path: str | Path) -> Settings:
    """Settings from a JSON file; ConfigError with one line when it is missing or malformed."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read --settings {path}: {e.strerror or e}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--settings {path} is not JSON (line {e.lineno}: {e.msg})") from None
    return from_json(obj)
