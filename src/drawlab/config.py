"""Run configuration: plain dataclasses that turn into objects, and named presets.

A ``TrainConfig`` holds everything needed to rebuild a run; it is written to
``RUN/config.json`` and read back on resume and sampling.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError


@dataclass
class ModelConfig:
    """Which model family and its hyper-parameters."""

    name: str = "dcgan"  # a name from the model registry (`drawlab models`)
    z_dim: int = 100  # latent size
    width: int = 64  # channels of the generator's last hidden stage (doubled per stage towards 4x4)
    d_width: int | None = None  # the discriminator's first-stage channels (None: same as width)
    lr_g: float = 2e-4  # Adam learning rate of the generator
    lr_d: float = 2e-4  # Adam learning rate of the discriminator
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    ema_images: float = 0.0  # half-life, in images seen, of the moving average of G used for sampling (0: off)
    ema_rampup: float = (
        0.0  # ...at most this share of the images seen so far (0: no ramp-up; it forgets the random start)
    )
    loss: str = "nonsaturating"  # adversarial loss: nonsaturating (BCE on logits) | hinge | lsgan | wgan-gp | ra-hinge
    label_smoothing: float = 0.0  # one-sided: real target 1 - s for D (0: off)
    d_steps: int = 1  # discriminator updates per generator update
    d_cond: str = "concat"  # how a conditional D sees the label: "concat" (one-hot planes) or "projection"
    # the classic stabilising tricks (adversarial families only; all off by default)
    g_steps: int = 1  # generator updates per step (after the d_steps D updates)
    d_pretrain_steps: int = 0  # the first N steps update D alone, against the untrained G
    swap_real_fraction: float = 0.0  # share of each real batch replaced by generated images labelled real...
    swap_until_epoch: float = 0.0  # ...until this epoch (the DCGAN article: 0.2 for the first 200 epochs)
    flip_labels: float = 0.0  # chance that each of D's targets is flipped (real <-> generated)
    instance_noise: float = (
        0.0  # std of Gaussian noise added to D's inputs (real and generated), in pixel units of [-1, 1]...
    )
    instance_noise_steps: int | None = (
        None  # ...decaying linearly to 0 at this step (None: the run's length, else 1000)
    )

    # losses' regularisers and stabilisers (adversarial families; all off by default)
    gp_weight: float | None = None  # gradient penalty weight (None: 10 with --loss wgan-gp, else off)
    r1: float = 0.0  # R1 penalty gamma on real images (0: off)...
    r1_every: int = 16  # ...applied every N steps with its weight times N (lazy regularisation)
    spectral_norm: str = "none"  # spectral normalisation of the weights: none | d | g | both
    diffaugment: str = ""  # DiffAugment policy for everything D sees: any of color,translation,cutout
    d_norm: str = "auto"  # D's normalisation: auto (follows the loss) | batch | layer | instance | none
    pair_labels: str = "true"  # MSE models: train on each image's own label ("true") or a random one ("random")

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

    spec: str = "mnist"  # mnist | mnist-5k | fashion | folder:PATH (`drawlab data`)
    root: str | None = None  # data root (default: $DRAWLAB_DATA or ~/.cache/drawlab)
    size: int | None = None  # resize + centre-crop to size x size (None: native, 64 for folders)
    channels: int | None = None  # 1 or 3 (None: native)
    limit: int | None = None  # only N images, drawn once with a fixed seed (None: all)
    binarize: bool = False  # pixels set to 0 or 255 at the midpoint (the article's binarised digits)
    patches: int = 4000  # patches:IMAGE -- how many crops of the drawing
    patch_flips: bool = False  # patches:IMAGE -- crops randomly mirrored and turned by multiples of 90 degrees


@dataclass
class TrainConfig:
    """One training run. ``steps``/``epochs``/``minutes`` are totals across resumes; the first set wins in that order."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    preset: str | None = None
    batch_size: int = 128
    seed: int = 0
    steps: int | None = None
    epochs: int | None = None
    minutes: float | None = None
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto | fp32 | bf16 (auto: bf16 only where the hardware is fast at it)
    channels_last: bool = True  # NHWC memory layout for conv models (faster on CPU and GPU)
    cuda_graphs: bool | None = None  # replay each step as one CUDA graph: None = when the step allows it (one GPU)
    log_every: int = 50  # steps between metrics.jsonl / TensorBoard records
    sample_every: int | None = None  # steps between sample grids (None: once per epoch, at most about 40 per run)
    checkpoint_every: int | None = None  # steps between checkpoints (None: same as sample grids)
    keep_checkpoints: int = 3  # older checkpoints are deleted (the newest always survives)
    grid_n: int = 100  # images in each progress grid (from the run's fixed noise)
    eval_every: int | None = (
        None  # steps between in-training evaluations (FID, precision, recall, coverage...; best-FID checkpoint kept)
    )
    eval_n: int = 2000  # generated images per in-training FID
    monitor_every: int | None = None  # steps between D-histogram snapshots (None: every epoch, at most every 25 steps)
    fit_batch: list[int] = field(default_factory=list)  # batch sizes to choose from by this machine's speed, largest
    #   first: the first whose measured steps in ``minutes`` reach its ``fit_min_steps`` (else the last); resolved
    #   once at the start of a new minutes-limited run, then emptied: config.json keeps the batch_size chosen
    fit_min_steps: int | list[int] = 1100  # one number for every fit_batch but the last, or one number each
    on_nan: str = (
        "rollback"  # non-finite losses/weights: rollback (to the newest checkpoint, lr x 0.5; 3 at most) | stop
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The config of ``d`` (config.json's "train"); ConfigError naming any key drawlab does not know."""
        d = dict(d)
        model = ModelConfig(**_known(ModelConfig, _migrate_ema(d.pop("model", {}), d.get("batch_size", 128)), "model."))
        data = DataConfig(**_known(DataConfig, d.pop("data", {}), "data."))
        return cls(model=model, data=data, **_known(cls, d, ""))


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
        if isinstance(value, _TYPES[part]) and (
            part != "list[int]" or all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
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


def preset_config(name: str) -> TrainConfig:
    """The TrainConfig of a named preset."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    p = {k: v for k, v in PRESETS[name].items() if k != "summary"}
    return TrainConfig.from_dict({**p, "preset": name})
