"""Run configuration: plain dataclasses that turn into objects, and named presets.

A ``TrainConfig`` holds everything needed to rebuild a run; it is written to
``RUN/config.json`` and read back on resume and sampling.

Every setting is declared once, here: its default, its command-line flag, its help, the check of its
value and whether a ``--resume`` may change it (an ``Option`` in the field's metadata, made by ``opt``).
The CLI's options (``cli_train``), the validation (``check_values``, called by ``training.checks``) and
the resume rules (``resume_may_change``) are derived from these declarations.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

LOSS_HELP = "adversarial loss (see `drawlab losses`; default: the model's own, nonsaturating for most)"
PRECISIONS = ("auto", "fp32", "bf16")
ON_NAN = ("rollback", "stop")
SPECTRAL = ("none", "d", "g", "both")
NORMS = ("auto", "batch", "layer", "instance", "none")
FITS = ("crop", "pad", "resize")  # drawlab.data.decode.Fit's values


@dataclass(frozen=True)
class Range:
    """A number's allowed values: ``lo`` <= x <= ``hi`` (``lo_open``/``hi_open``: strictly), always finite;
    ``integer``: a whole number; ``hint``: a typical value for the message (e.g. "e.g. 2e-4")."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    hint: str = ""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed (None when it is)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
        if self.integer and not isinstance(value, int):
            return f"must be a whole number, got {value!r}"
        if not math.isfinite(value):
            return f"must be a finite number, got {value}"
        below = value <= self.lo if self.lo_open else value < self.lo
        above = value >= self.hi if self.hi_open else value > self.hi
        if below or above:
            return f"must be in {self.describe()}, got {value}"
        return None

    def describe(self) -> str:
        """The interval in words, e.g. '(0, 1]' or '>= 1'."""
        hint = f" ({self.hint})" if self.hint else ""
        if math.isinf(self.hi):
            return f"{'>' if self.lo_open else '>='} {_num(self.lo)}{hint}"
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        return f"{left}{_num(self.lo)}, {_num(self.hi)}{right}{hint}"


def _num(x: float) -> str:
    if isinstance(x, int):
        return str(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:g}"


POSITIVE_INT = Range(1, 2**31 - 1, integer=True)
STEPS = Range(0, 2**40, integer=True)
FRACTION = Range(0, 1)


@dataclass(frozen=True)
class Option:
    """How one setting meets the user: ``flag`` (None: not on the command line), ``help``, the ``check``
    of its value (a Range, or the allowed ``choices``), whether a ``--resume`` may change it, and the
    argparse ``group`` and ``metavar`` it is listed under."""

    flag: str | None
    help: str = ""
    check: Range | None = None
    choices: tuple[Any, ...] | None = None
    resume: bool = False
    group: str | None = None
    metavar: str | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed for this setting (None when it is; None is always allowed where
        the field's type admits it, which ``from_dict`` checks)."""
        if value is None:
            return None
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, got {value!r}"
        if self.check is not None:
            return self.check.problem(value)
        return None


def opt(default: Any = None, flag: str | None = None, help: str = "", *, factory: Any = None, **kw: Any) -> Any:
    """A dataclass field declared with its ``Option`` (see there)."""
    meta = {"option": Option(flag, help, **kw)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    """Which model family and its hyper-parameters."""

    name: str = opt("dcgan", "--model", "model family (see `drawlab models`)")
    z_dim: int = opt(
        100,
        "--z-dim",
        "latent size (flow, ddpm: the noise image, C x H x W, whatever this says)",
        check=Range(1, 2**18, integer=True),
    )
    width: int = opt(
        64,
        "--width",
        "generator width: channels of its last hidden stage (doubled per stage towards 4x4)",
        check=Range(1, 4096, integer=True),
    )
    d_width: int | None = opt(
        None,
        "--d-width",
        "the discriminator's first-stage channels (default: --width)",
        check=Range(1, 4096, integer=True),
    )
    lr_g: float = opt(
        2e-4, "--lr-g", "Adam learning rate of the generator", check=Range(0, 10, lo_open=True, hint="e.g. 2e-4")
    )
    lr_d: float = opt(
        2e-4, "--lr-d", "Adam learning rate of the discriminator", check=Range(0, 10, lo_open=True, hint="e.g. 2e-4")
    )
    beta1: float = opt(0.5, None, "Adam beta1", check=Range(0, 1, hi_open=True))
    beta2: float = opt(0.999, None, "Adam beta2", check=Range(0, 1, hi_open=True))
    ema_images: float = opt(
        0.0,
        "--ema",
        "sample from a moving average of G with this half-life in images seen, e.g. 10000 (0: off)",
        check=Range(0, 1e12),
        metavar="IMAGES",
    )
    ema_rampup: float = opt(
        0.0,
        "--ema-rampup",
        "cap the EMA half-life at SHARE x the images seen so far, e.g. 0.05 (0: no ramp-up; it forgets the random start)",
        check=Range(0, 1e6),
        metavar="SHARE",
    )
    loss: str | None = opt(None, "--loss", LOSS_HELP + "; wgan-gp: n-critic via --d-steps")
    label_smoothing: float = opt(
        0.0, "--label-smoothing", "one-sided: D's real target becomes 1 - S (0: off)", check=Range(0, 1, hi_open=True)
    )
    d_steps: int = opt(1, "--d-steps", "D updates per G update", check=Range(1, 100, integer=True))
    d_cond: str = opt(
        "concat",
        "--d-cond",
        "how a conditional D sees the label: one-hot planes (concat, default) or projection",
        choices=("concat", "projection"),
    )
    # the classic stabilising tricks (adversarial families only; all off by default)
    g_steps: int = opt(
        1, "--g-steps", "G updates per step (default 1)", check=Range(1, 100, integer=True), group="tricks"
    )
    d_pretrain_steps: int = opt(
        0, "--d-pretrain-steps", "the first N steps train D alone against the untrained G", check=STEPS, group="tricks"
    )
    swap_real_fraction: float = opt(
        0.0,
        "--swap-real-fraction",
        "share of each real batch replaced by generated images labelled real (with --swap-until-epoch)",
        check=FRACTION,
        group="tricks",
    )
    swap_until_epoch: float = opt(
        0.0,
        "--swap-until-epoch",
        "epoch at which swapping stops (the DCGAN article: 0.2 for the first 200 epochs)",
        check=Range(0, 1e9),
        group="tricks",
    )
    flip_labels: float = opt(
        0.0,
        "--flip-labels",
        "chance of flipping each of D's targets (real <-> generated), e.g. 0.05",
        check=Range(0, 0.5, hi_open=True, hint="flipping half or more teaches D the opposite task; e.g. 0.05"),
        group="tricks",
    )
    instance_noise: float = opt(
        0.0,
        "--instance-noise",
        "Gaussian noise of std SIGMA on D's inputs (images in [-1, 1]), decaying linearly to 0",
        check=Range(0, 100),
        group="tricks",
        metavar="SIGMA",
    )
    instance_noise_steps: int | None = opt(
        None,
        "--instance-noise-steps",
        "step at which the instance noise reaches 0 (default: the run's length, or 1000 for --minutes)",
        check=Range(1, 2**40, integer=True),
        group="tricks",
    )
    # losses' regularisers and stabilisers (adversarial families; all off by default)
    gp_weight: float | None = opt(
        None, "--gp-weight", "gradient penalty weight (default 10 with --loss wgan-gp, else off)", check=Range(0, 1e6)
    )
    r1: float = opt(
        0.0, "--r1", "R1 penalty gamma on real images (e.g. 1 for MNIST, 10 for faces; 0: off)", check=Range(0, 1e6)
    )
    r1_every: int = opt(
        16, "--r1-every", "lazy R1: every N steps, weight times N (default 16)", check=Range(1, 10_000, integer=True)
    )
    spectral_norm: str = opt("none", "--spectral-norm", "spectral normalisation of the weights", choices=SPECTRAL)
    diffaugment: str = opt("", "--diffaugment", "DiffAugment for D's inputs: any of color,translation,cutout")
    d_norm: str = opt(
        "auto",
        "--d-norm",
        "D's normalisation (auto: BatchNorm, none with R1 or spectral norm, layer with WGAN-GP)",
        choices=NORMS,
    )
    pair_labels: str = opt(
        "true",
        "--pair-labels",
        "MSE models: give G each image's own label (true) or a random one (random, the article's bug)",
        choices=("true", "random"),
    )
    # the denoisers (flow, ddpm): their training and their sampler (a resume may change how it samples)
    sample_steps: int = opt(
        20,
        "--sample-steps",
        "flow, ddpm: sampling steps per image (ODE or DDIM steps; default 20)",
        check=Range(1, 1000, integer=True),
        resume=True,
        group="denoising",
    )
    sample_shift: float = opt(
        1.0,
        "--sample-shift",
        "flow: the ODE's time grid t = u / (u + S (1 - u)) over uniform u: 1 uniform, S > 1 more steps "
        "near the noise, where logit-normal training times put the training",
        check=Range(0.1, 100),
        resume=True,
        group="denoising",
    )
    sampler: str | None = opt(
        None,
        "--sampler",
        "flow: euler (default) or heun; ddpm: ddim (default, deterministic) or ddpm (ancestral)",
        choices=("euler", "heun", "ddim", "ddpm"),
        resume=True,
        group="denoising",
    )
    guidance: float = opt(
        1.0,
        "--guidance",
        "flow, ddpm on labelled data: classifier-free guidance scale S at sampling (1: unguided, e.g. 2)",
        check=Range(0, 50),
        resume=True,
        group="denoising",
    )
    guidance_low: float = opt(
        0.0,
        "--guidance-low",
        "flow, ddpm: guide only where the noise level (1: pure noise, 0: the image) is at least this (default 0)",
        check=FRACTION,
        resume=True,
        group="denoising",
    )
    guidance_high: float = opt(
        1.0,
        "--guidance-high",
        "flow, ddpm: guide only where the noise level is at most this (default 1): two network passes only where "
        "the noise level is in the interval, one elsewhere (Kynkaanniemi et al. 2024)",
        check=FRACTION,
        resume=True,
        group="denoising",
    )
    label_dropout: float = opt(
        0.1,
        "--label-dropout",
        "flow, ddpm: share of labels dropped while training (what classifier-free guidance needs)",
        check=Range(0, 1, hi_open=True),
        group="denoising",
    )
    schedule: str = opt(
        "cosine",
        "--schedule",
        "ddpm: the noise schedule, linear (Ho et al.) or cosine (Nichol & Dhariwal, default)",
        choices=("linear", "cosine"),
        group="denoising",
    )
    time_sampling: str = opt(
        "uniform",
        "--time-sampling",
        "flow: how training draws t, uniform (default) or logit-normal (sigmoid of N(-0.8, 0.8): mostly the noisy "
        "half, where the layout is decided; Esser et al. 2024)",
        choices=("uniform", "logit-normal"),
        group="denoising",
    )
    patch: int = opt(
        1,
        "--patch",
        "flow, ddpm: the U-Net reads P x P pixel blocks as channels (64x64x3 -> 32x32x12 at P = 2), about P^2 times "
        "cheaper a step; the image side must be a multiple of P (default 1)",
        check=Range(1, 8, integer=True),
        group="denoising",
    )
    prediction: str | None = opt(
        None,
        "--prediction",
        "flow, ddpm: what the U-Net answers. ddpm: eps (the noise, Ho et al., default) or v (sqrt(abar) eps - "
        "sqrt(1 - abar) x0, Salimans & Ho 2022: well posed at pure noise); flow: velocity (x1 - x0, default) or x "
        "(the clean image, trained on the velocity it implies: Li & He 2025, what a narrow U-Net reading large "
        "--patch blocks can still answer)",
        choices=("eps", "v", "velocity", "x"),
        group="denoising",
    )

    def penalty_weight(self) -> float:
        """The gradient-penalty weight in force (10 by default under wgan-gp)."""
        if self.gp_weight is not None:
            return self.gp_weight
        return 10.0 if self.loss == "wgan-gp" else 0.0

    def resolved_d_norm(self) -> str:
        """D's normalisation: as given, or under ``auto`` none where a per-image gradient penalty or spectral
        normalisation is used (BatchNorm would mix the images of a batch into each image's gradient; SN
        networks are built without it), layer norm for WGAN-GP (Gulrajani et al.), else BatchNorm."""
        if self.d_norm != "auto":
            return self.d_norm
        if self.loss == "wgan-gp" or self.penalty_weight() > 0:
            return "layer"
        if self.r1 > 0 or self.spectral_norm in ("d", "both"):
            return "none"
        return "batch"

    def stabilisers(self) -> dict[str, Any]:
        """The regularisers and stabilisers switched on, by option name."""
        on = {
            "gp_weight": self.penalty_weight(),
            "r1": self.r1,
            "spectral_norm": self.spectral_norm,
            "diffaugment": self.diffaugment,
        }
        off = {"gp_weight": 0.0, "r1": 0.0, "spectral_norm": "none", "diffaugment": ""}
        return {k: v for k, v in on.items() if v != off[k]}

    def tricks(self) -> dict[str, float]:
        """The stabilising tricks switched on, by option name (empty when none is)."""
        off = {
            "d_steps": 1,
            "g_steps": 1,
            "d_pretrain_steps": 0,
            "label_smoothing": 0.0,
            "swap_real_fraction": 0.0,
            "flip_labels": 0.0,
            "instance_noise": 0.0,
        }
        return {k: getattr(self, k) for k, v in off.items() if getattr(self, k) != v}


@dataclass
class DataConfig:
    """Which images to learn from."""

    spec: str = opt(
        "mnist",
        "--data",
        "data spec: mnist, mnist-5k, fashion, patches:IMAGE, folder:PATH or a folder path (`drawlab data` lists them all)",
    )
    root: str | None = opt(
        None, "--data-root", "where datasets live and are cached (default $DRAWLAB_DATA or ~/.cache/drawlab)"
    )
    size: int | None = opt(
        None,
        "--size",
        "resize images to SIZE x SIZE, non-square ones by --fit (default: native, 64 for folders)",
        check=Range(4, 1024, integer=True),
    )
    channels: int | None = opt(None, "--channels", "1 (grey) or 3 (RGB) (default: native)", choices=(1, 3))
    fit: str = opt(
        "crop",
        "--fit",
        "folders: how a non-square image becomes square: crop (its centred square, default: fills the frame), "
        "pad (all of it on its border's colour) or resize (all of it, stretched)",
        choices=FITS,
    )
    limit: int | None = opt(
        None, "--limit", "train on N images only (drawn once with a fixed seed)", check=Range(1, 2**40, integer=True)
    )
    binarize: bool = opt(False, "--binarize", "pixels to 0 or 255 at the midpoint (the article's binarised digits)")
    patches: int = opt(
        4000, "--patches", "patches:IMAGE -- how many crops (default 4000)", check=Range(1, 10_000_000, integer=True)
    )
    patch_flips: bool = opt(False, "--patch-flips", "patches:IMAGE -- mirror and turn crops by multiples of 90 degrees")
    columns: str | None = opt(
        None,
        "--columns",
        "hf:PATH -- the image and label columns, IMAGE[,LABEL] (LABEL - for none; default: found by their types)",
    )


@dataclass
class TrainConfig:
    """One training run. ``steps``/``epochs``/``minutes`` are totals across resumes; the first set wins in that order."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    preset: str | None = opt(None, None, "the named recipe this run started from")
    batch_size: int = opt(128, "--batch-size", "images per step", check=Range(1, 1_000_000, integer=True))
    seed: int = opt(0, "--seed", "the run's seed: the same seed, the same run", check=Range(0, 2**63 - 1, integer=True))
    steps: int | None = opt(None, "--steps", "total training steps", check=STEPS, resume=True, group="length")
    epochs: int | None = opt(
        None, "--epochs", "total epochs", check=Range(0, 1_000_000, integer=True), resume=True, group="length"
    )
    minutes: float | None = opt(
        None, "--minutes", "total minutes of training", check=Range(0, 1e7), resume=True, group="length"
    )
    device: str = opt("auto", "--device", "auto, cpu, cuda, cuda:N or mps (default auto)", resume=True)
    precision: str = opt(
        "auto",
        "--precision",
        "auto (bf16 only where this machine measures it faster), fp32 or bf16",
        choices=PRECISIONS,
        resume=True,
    )
    channels_last: bool = opt(True, None, "NHWC memory layout for conv models (faster on CPU and GPU)")
    cuda_graphs: bool | None = opt(
        None,
        "--cuda-graphs",
        "replay each training step as one CUDA graph (default: on a single GPU when the step allows it; "
        "--cuda-graphs insists, --no-cuda-graphs turns it off)",
        resume=True,
    )
    log_every: int = opt(50, None, "steps between metrics.jsonl / TensorBoard records", check=POSITIVE_INT)
    sample_every: int | None = opt(
        None,
        "--sample-every",
        "steps between sample grids (default: once per epoch, about 40 per run at most)",
        check=POSITIVE_INT,
    )
    checkpoint_every: int | None = opt(
        None, "--checkpoint-every", "steps between checkpoints (default: as sample grids)", check=POSITIVE_INT
    )
    keep_checkpoints: int = opt(
        3, None, "older checkpoints are deleted (the newest always survives)", check=POSITIVE_INT
    )
    grid_n: int = opt(
        100, None, "images in each progress grid (from the run's fixed noise)", check=Range(1, 10_000, integer=True)
    )
    eval_every: int | None = opt(
        None, "--eval-every", "steps between in-training FIDs; keeps the best checkpoint", check=POSITIVE_INT
    )
    eval_n: int = opt(
        2000, "--eval-n", "generated images per in-training FID (default 2000)", check=Range(1, 1_000_000, integer=True)
    )
    monitor_every: int | None = opt(
        None,
        "--monitor-every",
        "steps between snapshots of D's output histograms (default: every epoch)",
        check=POSITIVE_INT,
    )
    fit_batch: list[int] = opt(
        None,
        None,
        "batch sizes to choose from by this machine's speed, largest first: the first whose measured steps in "
        "``minutes`` reach its ``fit_min_steps`` (else the last); resolved once at the start of a new "
        "minutes-limited run, then emptied: config.json keeps the batch_size chosen",
        factory=list,
    )
    fit_min_steps: int | list[int] = opt(1100, None, "one number for every fit_batch but the last, or one number each")
    on_nan: str = opt(
        "rollback",
        "--on-nan",
        "non-finite losses or weights: roll back to the newest checkpoint with the learning rates halved "
        "(default; at most 3 times), or stop at once (exit 3)",
        choices=ON_NAN,
        resume=True,
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The config of ``d`` (config.json's "train"); ConfigError naming any key drawlab does not know."""
        d = dict(d)
        m = _migrate_prediction(_migrate_ema(d.pop("model", {}), d.get("batch_size", 128)))
        model = ModelConfig(**_known(ModelConfig, m, "model."))
        data = DataConfig(**_known(DataConfig, d.pop("data", {}), "data."))
        return cls(model=model, data=data, **_known(cls, d, ""))


SAMPLING = ("sample_steps", "guidance", "guidance_low", "guidance_high", "sampler", "sample_shift")
"""The model settings a drawing command (sample, evaluate, interpolate, serve, ``drawlab.load``) may change."""


def level_text(v: float) -> str:
    """A noise level in [0, 1] for names and messages, to 3 decimals and never in exponent form: 0.55, 1, 0."""
    return f"{v:.3f}".rstrip("0").rstrip(".")


def interval_text(s: dict[str, Any]) -> str:
    """A sampling record's guidance interval as "0.2-0.8"; "" where guidance applies on the whole path (or a
    record from before the interval existed)."""
    lo, hi = s.get("guidance_interval", (0.0, 1.0))
    return "" if (lo, hi) == (0, 1) else f"{level_text(lo)}-{level_text(hi)}"


def guidance_words(s: dict[str, Any]) -> str:
    """A sampling record's guidance in words: "1.25", or "1.25 at noise levels 0.2-0.8" where it applies on part
    of the path only."""
    part = interval_text(s) if s["guidance"] != 1.0 else ""
    return f"{s['guidance']:g}" + (f" at noise levels {part}" if part else "")


SECTIONS: tuple[tuple[str, type], ...] = (("model", ModelConfig), ("data", DataConfig), ("", TrainConfig))


def options() -> Iterator[tuple[str, Option, dataclasses.Field]]:
    """Every declared setting: (its path in config.json, e.g. 'model.lr_g' or 'batch_size'; its Option; its field)."""
    for section, cls in SECTIONS:
        for f in dataclasses.fields(cls):
            o = f.metadata.get("option")
            if o is not None:
                yield (f"{section}.{f.name}" if section else f.name), o, f


def get_path(cfg: TrainConfig, path: str) -> Any:
    """The value at ``path`` ('model.lr_g', 'seed') of ``cfg``."""
    obj: Any = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def set_path(cfg: TrainConfig, path: str, value: Any) -> None:
    """Set the value at ``path`` of ``cfg``."""
    *parents, last = path.split(".")
    obj: Any = cfg
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def name_of(path: str, option: Option) -> str:
    """How a message names a setting: its flag, else its config.json key."""
    return option.flag or path


def check_values(cfg: TrainConfig) -> None:
    """Every declared setting of ``cfg`` checked against its own declaration (range, finiteness, choices):
    the first bad one is a ConfigError line naming it, what is allowed and what was given."""
    for path, o, _ in options():
        why = o.problem(get_path(cfg, path))
        if why:
            raise ConfigError(f"{name_of(path, o)} {why}")
    for b in cfg.fit_batch:
        if not (isinstance(b, int) and b >= 1):
            raise ConfigError(f"fit_batch must hold batch sizes >= 1, got {cfg.fit_batch!r}")
    mins = cfg.fit_min_steps if isinstance(cfg.fit_min_steps, list) else [cfg.fit_min_steps]
    if not all(isinstance(m, int) and m >= 0 for m in mins):
        raise ConfigError(f"fit_min_steps must be whole numbers >= 0, got {cfg.fit_min_steps!r}")


def resume_may_change() -> tuple[str, ...]:
    """The settings a ``--resume`` may give again (its length and runtime choices): config.json paths."""
    return tuple(path for path, o, _ in options() if o.resume)


def _migrate_prediction(m: dict[str, Any]) -> dict[str, Any]:
    """A model config written when ``prediction`` defaulted to "eps" for every model: only ddpm predicts eps,
    so any other model's "eps" is its own default (None)."""
    if m.get("prediction") == "eps" and m.get("name") != "ddpm":
        m = {k: v for k, v in m.items() if k != "prediction"}
    return m


def _migrate_ema(m: dict[str, Any], batch: int) -> dict[str, Any]:
    """A model config written before EMA was counted in images: ``ema`` (decay per step) becomes the same
    half-life in images, ``batch * ln 0.5 / ln ema``; ``ema_start`` (steps of copying) becomes a ramp-up of 0.5."""
    if "ema" not in m and "ema_start" not in m:
        return m
    m = dict(m)
    decay, start = float(m.pop("ema", 0.0)), int(m.pop("ema_start", 0))
    if 0 < decay < 1:
        m.setdefault("ema_images", round(batch * math.log(0.5) / math.log(decay), 1))
        m.setdefault("ema_rampup", 0.5 if start > 0 else 0.0)
    return m


_TYPES = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "None": (type(None),),
    "list[int]": (list,),
}


def _type_ok(value: Any, annotation: str) -> bool:
    """``value`` fits the field annotation (a string under ``from __future__ import annotations``)."""
    for part in (p.strip() for p in annotation.split("|")):
        if part not in _TYPES:
            return True  # nested configs are checked by their own class
        if isinstance(value, bool) and part in ("int", "float"):
            continue  # true is not a number here
        if isinstance(value, float) and part == "float" and not math.isfinite(value):
            continue
        if part == "list[int]":
            if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return True
        elif isinstance(value, _TYPES[part]):
            return True
    return False


def _known(cls: type, d: dict[str, Any], where: str) -> dict[str, Any]:
    """``d`` checked against the fields of ``cls``: an unknown key, or a value of the wrong type, is refused
    (one line naming it), never dropped or used silently."""
    if not isinstance(d, dict):
        raise ConfigError(
            f"config.json: {where.rstrip('.') or 'train'} is {d!r}, not a set of settings: fix or remove it"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        keys = ", ".join(where + str(k) for k in unknown)
        raise ConfigError(
            f"config.json has setting(s) this drawlab does not know: {keys} (written by another "
            "version? upgrade drawlab, or remove them to use the defaults)"
        )
    for k, v in d.items():
        if not _type_ok(v, str(fields[k].type)):
            raise ConfigError(
                f"config.json: {where}{k} is {v!r}, which is not a {fields[k].type}: fix it, or "
                "remove it to use the default"
            )
    return dict(d)


# Named recipes. Each is a set of overrides of the defaults above; command-line options override them again.
PRESETS: dict[str, dict[str, Any]] = {
    "mnist-cgan": {
        "summary": "conditional DCGAN on MNIST 28x28: all ten digits, recognisable after ~5 CPU minutes",
        "model": {
            "name": "cgan",
            "z_dim": 64,
            "width": 64,
            "lr_g": 4e-4,
            "lr_d": 4e-4,
            "ema_images": 8800,
            "ema_rampup": 0.5,
        },
        "data": {"spec": "mnist"},
        "batch_size": 32,
        "minutes": 5.0,
        "fit_batch": [32, 16],
        "fit_min_steps": 1900,
    },
    "mnist-cgan-gpu": {
        "summary": "the default preset's model for one GPU: batch 1024, TF32, each step one CUDA graph, "
        "15 s of training (~30 s in all on an H100)",
        "model": {
            "name": "cgan",
            "z_dim": 64,
            "width": 64,
            "lr_g": 4e-4,
            "lr_d": 4e-4,
            "ema_images": 8800,
            "ema_rampup": 0.5,
        },
        "data": {"spec": "mnist"},
        "batch_size": 1024,
        "minutes": 0.25,
        "device": "cuda",
        "monitor_every": 500,
    },
    "mnist-flow": {
        "summary": "flow matching (rectified flow) on MNIST 28x28: a 16-channel U-Net, 20 Euler steps, "
        "classifier-free guidance at the middle noise levels; ~5 CPU minutes",
        "model": {
            "name": "flow",
            "width": 16,
            "lr_g": 1e-3,
            "ema_images": 5000,
            "ema_rampup": 0.05,
            "sample_steps": 20,
            # guidance 2.5 on the 3 of 20 Euler steps at noise levels 0.55-0.65: FID 12.9 against 13.8 for 1.25 at
            # every step (3 seeds, each better), the asked digit 97.9% against 97.8%, at 23 network passes per
            # image instead of 40 (benchmarks/RESULTS.md, 2026-12-08; 1.25 was the best of 1, 1.5, 2 everywhere)
            "guidance": 2.5,
            "guidance_low": 0.55,
            "guidance_high": 0.65,
        },
        "data": {"spec": "mnist"},
        "batch_size": 64,
        "minutes": 5.0,
        "precision": "fp32",  # bf16 trained this U-Net no faster on a Zen 5 with avx512_bf16 (GroupNorm, SiLU)
    },
    "mnist-flow-gpu": {
        "summary": "mnist-flow's objective for one GPU: a 32-channel U-Net at batch 512, 2 minutes of training "
        "(sized by FLOPs from the CPU measurements; not yet measured on a GPU)",
        "model": {
            "name": "flow",
            "width": 32,  # 4x the CPU preset's FLOPs per image: a GPU is not bound by them at 28x28
            "lr_g": 1e-3,
            "ema_images": 50000,  # ~10x the CPU preset's, for ~40x its images
            "ema_rampup": 0.05,
            "sample_steps": 20,
            "guidance": 2.5,  # as mnist-flow's
            "guidance_low": 0.55,
            "guidance_high": 0.65,
        },
        "data": {"spec": "mnist"},
        "batch_size": 512,
        "minutes": 2.0,
        "device": "cuda",
        "monitor_every": 500,
    },
    "faces-flow": {
        "summary": "flow matching on a folder of faces at 64x64 RGB (give --data folder:PATH), ~10 CPU minutes: the "
        "U-Net reads 4x4 pixel blocks and answers the clean image, trained mostly at the noisy times",
        "model": {
            "name": "flow",
            "width": 32,
            "patch": 4,  # 3x more images a minute than --patch 2, 30x more than none (1 thread, Zen 5)
            "prediction": "x",  # the velocity at --patch 4 drew noise: FID 54.5 against 13.2 (docs/flow-diffusion.md)
            "time_sampling": "logit-normal",  # FID 13.2 against 18.5 for uniform t with the loss in x
            "lr_g": 1e-3,
            "ema_images": 5000,
            "ema_rampup": 0.05,
            "sample_steps": 20,
            "sample_shift": 5.0,  # the steps where training was: FID 13.2 -> 9.2, precision 0.40 -> 0.63 (shift 1)
        },
        "data": {"spec": "folder:faces", "size": 64, "channels": 3},
        "batch_size": 64,
        "minutes": 10.0,
        "precision": "fp32",
    },
    "faces": {
        "summary": "faces at 64x64 RGB (give --data folder:PATH): the recipe measured best for the --minutes "
        "given (default 10): faces-flow up to 8, faces-dcgan-30 beyond",
        # CelebA 10k, one thread of a Zen 5 (benchmarks/RESULTS.md, 2026-12-07): at 5 minutes the flow draws faces
        # (FID 12 at n = 2,000), the DCGAN none (73); at 10 the DCGAN's grid is the cleaner (SWD 57 against 94,
        # FID 15.1 against 9.2); at 30 the DCGAN leads on every count but recall (FID 3.9 against 7.2)
        "by_minutes": [[8, "faces-flow", [5]], [None, "faces-dcgan-30", [10, 30]]],
        "minutes": 10.0,
    },
    "article-mlp": {
        "summary": "the 'Teaching Machines to Draw' first experiment, failure included: 1,000 16x16 binarised "
        "digits, MLP (256, 512), one-hot label + 100-d noise, MSE, Adam 2e-4, *random* "
        "label pairing (--pair-labels true shows the fix)",
        "model": {"name": "mlp-mse", "z_dim": 100, "lr_g": 2e-4, "beta1": 0.9, "beta2": 0.999, "pair_labels": "random"},
        "data": {"spec": "mnist", "size": 16, "binarize": True, "limit": 1000},
        "batch_size": 64,
        "epochs": 100,
    },
    "mnist-dcgan": {
        "summary": "unconditional DCGAN on MNIST 28x28, ~5 CPU minutes",
        "model": {
            "name": "dcgan",
            "z_dim": 64,
            "width": 64,
            "lr_g": 4e-4,
            "lr_d": 4e-4,
            "ema_images": 8800,
            "ema_rampup": 0.5,
        },
        "data": {"spec": "mnist"},
        "batch_size": 128,
        "minutes": 5.0,
    },
    "faces-dcgan": {
        "summary": "DCGAN + DiffAugment on a folder of faces at 64x64 RGB (give --data folder:PATH), ~10 CPU minutes",
        "model": {
            "name": "dcgan",
            "z_dim": 100,
            "width": 32,
            "lr_g": 2e-4,
            "lr_d": 2e-4,
            "ema_images": 8800,
            "ema_rampup": 0.5,
            "diffaugment": "color,translation,cutout",
        },
        "data": {"spec": "folder:faces", "size": 64, "channels": 3},
        "batch_size": 64,
        "minutes": 10.0,
    },
    "faces-dcgan-30": {
        "summary": "DCGAN on a folder of faces at 64x64 RGB (give --data folder:PATH), ~30 CPU minutes: without "
        "DiffAugment, which helps up to ~15 core-minutes and holds it back after",
        "model": {
            "name": "dcgan",
            "z_dim": 100,
            "width": 32,
            "lr_g": 2e-4,
            "lr_d": 2e-4,
            "ema_images": 8800,
            "ema_rampup": 0.5,
        },
        "data": {"spec": "folder:faces", "size": 64, "channels": 3},
        "batch_size": 64,
        "minutes": 30.0,
    },
}
DEFAULT_PRESET = "mnist-cgan"


def pick_by_minutes(name: str, minutes: float | None) -> tuple[str, str] | None:
    """For a preset that names other presets by budget (``by_minutes``: [[up to minutes or None, preset, [the
    minutes it was measured best at]], ...]), (the preset for ``minutes``, why in words); None for a preset
    that is a recipe itself."""
    table = PRESETS.get(name, {}).get("by_minutes")
    if not table:
        return None
    m = float(minutes if minutes is not None else PRESETS[name]["minutes"])
    i, (upto, picked, at) = next((i, r) for i, r in enumerate(table) if r[0] is None or m <= r[0])
    span = f"up to {upto:g}" if upto is not None else f"beyond {table[i - 1][0]:g}" if i else "at any"
    best = " and ".join(f"{b:g}" for b in at)
    return picked, f"{name} at {m:g} minutes: the {picked} recipe, measured best at {best} (used {span} minutes)"


def preset_config(name: str, minutes: float | None = None) -> TrainConfig:
    """The TrainConfig of a named preset; a preset by budget (``pick_by_minutes``) gives the one it picks for
    ``minutes`` (default: its own), which the config then names, at those minutes."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    picked = pick_by_minutes(name, minutes)
    if picked is not None:
        cfg = preset_config(picked[0])
        cfg.minutes = float(minutes if minutes is not None else PRESETS[name]["minutes"])
        return cfg
    p = {k: v for k, v in PRESETS[name].items() if k != "summary"}
    return TrainConfig.from_dict({**p, "preset": name})
