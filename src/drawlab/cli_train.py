"""`drawlab train`: its options, the TrainConfig they make, and the command (part of the CLI in cli.py)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .config import DEFAULT_PRESET, PRESETS, TrainConfig, preset_config
from .errors import ConfigError


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model (no options: the default preset, conditional DCGAN on MNIST)",
        description="Train a model. Options override the preset; --steps/--epochs/--minutes are "
        "the run's totals, also across --resume.",
    )
    p.add_argument("--preset", default=None, help=f"named recipe ({', '.join(PRESETS)}; default {DEFAULT_PRESET})")
    p.add_argument("--model", help="model family (see `drawlab models`)")
    p.add_argument("--data", help="data spec: mnist, mnist-5k, fashion, folder:PATH or a folder path")
    p.add_argument("--data-root", help="where datasets live and are cached (default $DRAWLAB_DATA or ~/.cache/drawlab)")
    p.add_argument("--size", type=int, help="resize + centre-crop images to SIZE x SIZE")
    p.add_argument("--channels", type=int, choices=(1, 3), help="1 (grey) or 3 (RGB)")
    p.add_argument("--limit", type=int, help="train on N images only (drawn once with a fixed seed)")
    p.add_argument("--patches", type=int, help="patches:IMAGE -- how many crops (default 4000)")
    p.add_argument(
        "--patch-flips",
        action="store_true",
        default=None,
        help="patches:IMAGE -- mirror and turn crops by multiples of 90 degrees",
    )
    p.add_argument("--binarize", action="store_true", default=None, help="pixels to 0 or 255 at the midpoint")
    p.add_argument(
        "--pair-labels",
        choices=("true", "random"),
        help="MSE models: give G each image's own label (true) or a random one (random, the article's bug)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int, help="total training steps")
    g.add_argument("--epochs", type=int, help="total epochs")
    g.add_argument("--minutes", type=float, help="total minutes of training")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate of G and D")
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--z-dim", type=int)
    p.add_argument("--width", type=int, help="generator width (channels of its finest hidden stage)")
    p.add_argument("--d-width", type=int, help="discriminator width (default: --width)")
    p.add_argument(
        "--ema",
        type=float,
        metavar="IMAGES",
        dest="ema_images",
        help="sample from a moving average of G with this half-life in images seen, e.g. 10000 (0: off)",
    )
    p.add_argument(
        "--ema-rampup",
        type=float,
        metavar="SHARE",
        help="cap the EMA half-life at SHARE x the images seen so far, e.g. 0.05 (0: none)",
    )
    p.add_argument(
        "--loss",
        choices=("nonsaturating", "hinge", "lsgan", "wgan-gp", "ra-hinge"),
        help="adversarial loss (default nonsaturating; wgan-gp: n-critic via --d-steps)",
    )
    p.add_argument("--gp-weight", type=float, help="gradient penalty weight (default 10 with --loss wgan-gp)")
    p.add_argument("--r1", type=float, help="R1 penalty gamma on real images (e.g. 1 for MNIST, 10 for faces)")
    p.add_argument("--r1-every", type=int, help="lazy R1: every N steps, weight times N (default 16)")
    p.add_argument("--spectral-norm", choices=("none", "d", "g", "both"), help="spectral normalisation of the weights")
    p.add_argument("--diffaugment", help="DiffAugment for D's inputs: any of color,translation,cutout")
    p.add_argument(
        "--d-norm",
        choices=("auto", "batch", "layer", "instance", "none"),
        help="D's normalisation (auto: BatchNorm, none with R1 or spectral norm, layer with WGAN-GP)",
    )
    p.add_argument("--label-smoothing", type=float, help="one-sided: D's real target becomes 1 - S")
    p.add_argument("--d-steps", type=int, help="D updates per G update")
    p.add_argument(
        "--d-cond",
        choices=("concat", "projection"),
        help="how a conditional D sees the label: one-hot planes (concat, default) or projection",
    )
    p.add_argument(
        "--monitor-every", type=int, help="steps between snapshots of D's output histograms (default: every epoch)"
    )
    t = p.add_argument_group("stabilising tricks (adversarial models; all off by default)")
    t.add_argument("--g-steps", type=int, help="G updates per step (default 1)")
    t.add_argument("--d-pretrain-steps", type=int, help="the first N steps train D alone against the untrained G")
    t.add_argument(
        "--swap-real-fraction",
        type=float,
        help="share of each real batch replaced by generated images labelled real (with --swap-until-epoch)",
    )
    t.add_argument("--swap-until-epoch", type=float, help="epoch at which swapping stops")
    t.add_argument("--flip-labels", type=float, help="chance of flipping each of D's targets, e.g. 0.05")
    t.add_argument(
        "--instance-noise",
        type=float,
        metavar="SIGMA",
        help="Gaussian noise of std SIGMA on D's inputs (images in [-1, 1]), decaying linearly to 0",
    )
    t.add_argument(
        "--instance-noise-steps",
        type=int,
        help="step at which the instance noise reaches 0 (default: the run's length, or 1000 for --minutes)",
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"))
    p.add_argument(
        "--cuda-graphs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="replay each training step as one CUDA graph (default: on a single GPU when the step "
        "allows it; --cuda-graphs insists, --no-cuda-graphs turns it off)",
    )
    p.add_argument(
        "--on-nan",
        choices=("rollback", "stop"),
        help="non-finite losses or weights: roll back to the newest checkpoint with the learning rates "
        "halved (default; at most 3 times), or stop at once (exit 3)",
    )
    p.add_argument("--sample-every", type=int, help="steps between sample grids")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    p.add_argument("--eval-every", type=int, help="steps between in-training FIDs; keeps the best checkpoint")
    p.add_argument("--eval-n", type=int, help="generated images per in-training FID (default 2000)")
    p.add_argument("--out", help="run directory (default runs/<preset or model>-<data>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run where it stopped")
    p.add_argument("--dry-run", action="store_true", help="a 2-step smoke run of the whole path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


_MODEL_OPTS = {
    "model": "name",
    "z_dim": "z_dim",
    "width": "width",
    "d_width": "d_width",
    "ema_images": "ema_images",
    "ema_rampup": "ema_rampup",
    "loss": "loss",
    "label_smoothing": "label_smoothing",
    "d_steps": "d_steps",
    "lr_g": "lr_g",
    "lr_d": "lr_d",
    "d_cond": "d_cond",
    "g_steps": "g_steps",
    "d_pretrain_steps": "d_pretrain_steps",
    "swap_real_fraction": "swap_real_fraction",
    "swap_until_epoch": "swap_until_epoch",
    "flip_labels": "flip_labels",
    "instance_noise": "instance_noise",
    "instance_noise_steps": "instance_noise_steps",
    "gp_weight": "gp_weight",
    "r1": "r1",
    "r1_every": "r1_every",
    "spectral_norm": "spectral_norm",
    "diffaugment": "diffaugment",
    "d_norm": "d_norm",
    "pair_labels": "pair_labels",
}
_TOP_OPTS = (
    "batch_size",
    "seed",
    "device",
    "precision",
    "sample_every",
    "checkpoint_every",
    "eval_every",
    "eval_n",
    "cuda_graphs",
    "monitor_every",
    "on_nan",
)


def config_from_args(a: argparse.Namespace) -> TrainConfig:
    """The preset's config with every given option applied on top."""
    cfg = preset_config(a.preset or DEFAULT_PRESET)
    if a.preset is None and (a.model or a.data):
        cfg.preset = None
    if a.lr is not None:
        cfg.model.lr_g = cfg.model.lr_d = a.lr
    for opt, field in _MODEL_OPTS.items():
        if getattr(a, opt) is not None:
            setattr(cfg.model, field, getattr(a, opt))
    for opt in _TOP_OPTS:
        if getattr(a, opt) is not None:
            setattr(cfg, opt, getattr(a, opt))
    if cfg.model.name == "msggan" and a.loss is None:
        cfg.model.loss = "ra-hinge"  # MSG-GAN's own loss (Karnewar & Wang)
    if a.data is not None:
        cfg.data.spec = _absolute_spec(a.data)
    for opt, field in (
        ("data_root", "root"),
        ("size", "size"),
        ("channels", "channels"),
        ("limit", "limit"),
        ("binarize", "binarize"),
        ("patches", "patches"),
        ("patch_flips", "patch_flips"),
    ):
        if getattr(a, opt) is not None:
            setattr(cfg.data, field, getattr(a, opt))
    if cfg.data.root is not None:
        cfg.data.root = str(Path(cfg.data.root).expanduser().absolute())
    _apply_length(cfg, a)
    if a.batch_size is not None or cfg.preset is None or cfg.minutes is None:
        cfg.fit_batch = []  # sizing to the machine is the preset's, for its own model, data and minutes
    return cfg


def _absolute_spec(spec: str) -> str:
    """``spec`` with absolute paths, so config.json finds the data from any directory (drawlab.data.absolute_spec)."""
    from .data import absolute_spec  # lazy like the rest of this file: torch loads only when a command needs it

    return absolute_spec(spec)


def _apply_length(cfg: TrainConfig, a: argparse.Namespace) -> None:
    if a.dry_run:
        a.steps = 2
    if any(getattr(a, k) is not None for k in ("steps", "epochs", "minutes")):
        cfg.steps, cfg.epochs, cfg.minutes = a.steps, a.epochs, a.minutes


def cmd_train(a: argparse.Namespace) -> int:
    from .training import Trainer

    if a.resume:
        from .run import RunDir

        fixed = [
            o
            for o in (*_MODEL_OPTS, *_TOP_OPTS, "preset", "data", "data_root", "size", "channels", "lr", "out")
            if o not in ("device", "precision", "cuda_graphs", "on_nan") and getattr(a, o, None) is not None
        ]
        if fixed:
            names = ", ".join("--" + o.replace("_", "-") for o in fixed)
            raise ConfigError(
                f"--resume continues a run with its own settings; {names} cannot change it "
                "(only --steps/--epochs/--minutes, --device, --precision, --cuda-graphs and --on-nan can): start a new run instead"
            )
        cfg, _ = RunDir(a.resume).read_config()
        _apply_length(cfg, a)
        cfg.cuda_graphs = None  # a runtime choice like --device: given again on each resume, not inherited
        for opt in ("device", "precision", "cuda_graphs", "on_nan"):
            if getattr(a, opt) is not None:
                setattr(cfg, opt, getattr(a, opt))
        trainer = Trainer(cfg, a.resume, resume=True, progress=not a.no_progress)
    else:
        cfg = config_from_args(a)
        if cfg.data.spec.startswith("folder:faces") and a.data is None:
            raise ConfigError(f"preset {cfg.preset} needs your faces: add --data folder:PATH")
        from .training.distributed import env_world

        if env_world() > 1 and not a.out:
            raise ConfigError("under torchrun every process must name the same run: add --out RUN_DIR")
        out = a.out or _default_out(cfg)
        trainer = Trainer(cfg, out, progress=not a.no_progress)
    res = trainer.train()
    if not trainer.team.main:  # the other processes of a data-parallel run: rank 0 reports
        return 0
    if res.already_done:
        print(
            f"{res.run_dir} already reached its target (step {res.step}); give a larger --steps, --epochs "
            f"or --minutes to continue it"
        )
        return 0
    print(f"run: {res.run_dir}\nsamples: {res.last_grid}\ncheckpoint: {res.checkpoint}")
    return 0


def _default_out(cfg: TrainConfig) -> str:
    data = cfg.data.spec.split(":", 1)[-1].rstrip("/").split("/")[-1] or "data"
    name = cfg.preset or f"{cfg.model.name}-{data}"
    return str(Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
