"""`drawlab train`: its options, the TrainConfig they make, and the command (part of the CLI in cli.py).

The options are derived from the settings declared in config.py (flag, help, choices, group, whether a
resume may change them); this file adds only what is not a setting (--preset, --lr, --out, --resume,
--dry-run, --no-progress) and the two path conversions (--data, --data-root).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_args import Number
from .config import (
    DEFAULT_PRESET,
    PRESETS,
    Option,
    TrainConfig,
    options,
    pick_by_minutes,
    preset_config,
    resume_may_change,
    set_path,
)
from .errors import ConfigError

if TYPE_CHECKING:
    from .recipe import Choice

GROUPS = {
    "tricks": "stabilising tricks (adversarial models; all off by default)",
    "denoising": "the denoisers (flow, ddpm): label dropout, noise schedule and sampler",
}
NOT_SETTINGS = ("preset", "lr", "out")  # options a --resume refuses besides the settings it may not change


def dest(path: str) -> str:
    """The argparse destination of a setting: 'model.lr_g' -> 'model__lr_g'."""
    return path.replace(".", "__")


def _type(f: dataclasses.Field) -> Any:
    """The argparse type of a setting from its annotation ('int | None' -> int)."""
    kinds = {part.strip() for part in str(f.type).split("|")} - {"None"}
    if kinds == {"int"}:
        return int
    if kinds == {"float"}:
        return float
    return str


def _add_option(p: Any, path: str, o: Option, f: dataclasses.Field, help_extra: str = "") -> None:
    """One argparse option from a declared setting (default None: given or not)."""
    flag = o.flag
    assert flag is not None, f"{path} has no command-line flag"  # the caller skips those
    kw: dict[str, Any] = {"dest": dest(path), "default": None, "help": o.help + help_extra}
    if str(f.type) not in ("bool", "bool | None") and o.choices is None:
        kw["metavar"] = o.metavar or flag.lstrip("-").upper().replace("-", "_")
    if str(f.type) == "bool | None":
        p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
    elif str(f.type) == "bool":
        p.add_argument(flag, action="store_true", **kw)
    else:
        kind = _type(f)
        p.add_argument(flag, type=Number(kind, o.check) if o.check else kind, choices=o.choices, **kw)


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a model (no options: the default preset, conditional DCGAN on MNIST)",
        description="Train a model. Options override the preset; --steps/--epochs/--minutes are "
        "the run's totals, also across --resume.",
    )
    p.add_argument("--preset", default=None, help=f"named recipe ({', '.join(PRESETS)}; default {DEFAULT_PRESET})")
    lr = next(o for path, o, _ in options() if path == "model.lr_g").check
    assert lr is not None, "model.lr_g declares no range"
    p.add_argument("--lr", type=Number(float, lr), help="learning rate of G and D (sets --lr-g and --lr-d)")
    groups: dict[str, Any] = {"length": p.add_mutually_exclusive_group()}
    for path, o, f in options():
        if o.flag is None:
            continue
        if o.group and o.group not in groups:
            groups[o.group] = p.add_argument_group(GROUPS.get(o.group, o.group))
        _add_option(groups.get(o.group or "", p), path, o, f)
    p.add_argument("--out", help="run directory (default runs/<preset or model>-<data>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run where it stopped")
    p.add_argument("--dry-run", action="store_true", help="a 2-step smoke run of the whole path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def given(a: argparse.Namespace) -> dict[str, Any]:
    """The declared settings given on the command line: {config path: value}."""
    return {path: getattr(a, dest(path)) for path, o, _ in options() if o.flag and getattr(a, dest(path)) is not None}


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def config_from_args(a: argparse.Namespace, say: Callable[[str], None] = _say) -> TrainConfig:
    """The preset's config with every given option applied on top: the preset named, else the recipe chosen
    for a folder given alone (``recipe.choose``), else the default; a preset by budget picks by --minutes."""
    opts = given(a)
    chosen = None if a.preset or "model.name" in opts else _folder_recipe(opts.get("data.spec"))
    name = a.preset or (chosen.preset if chosen else DEFAULT_PRESET)
    picked = pick_by_minutes(name, a.minutes)
    cfg = preset_config(name, a.minutes)
    if chosen:
        say(chosen.line(_absolute_spec(opts["data.spec"])))
        cfg.data.size, cfg.data.channels = chosen.size, chosen.channels
    if picked:
        say(picked[1])
    if a.preset is None and not chosen and ("model.name" in opts or "data.spec" in opts):
        cfg.preset = None
    if a.lr is not None:
        cfg.model.lr_g = cfg.model.lr_d = a.lr
    for path, value in opts.items():
        set_path(cfg, path, value)
    if "data.spec" in opts:
        cfg.data.spec = _absolute_spec(opts["data.spec"])
    if cfg.data.root is not None:
        cfg.data.root = str(Path(cfg.data.root).expanduser().absolute())
    _apply_length(cfg, a)
    if "batch_size" in opts or cfg.preset is None or cfg.minutes is None:
        cfg.fit_batch = []  # sizing to the machine is the preset's, for its own model, data and minutes
    return cfg


def _folder_recipe(spec: str | None) -> Choice | None:
    """The recipe chosen for ``spec`` when it is a folder of images (``recipe.choose``), else None."""
    if spec is None:
        return None
    from .data import parse_spec
    from .data.folder import folder_facts
    from .recipe import choose

    parsed = parse_spec(spec)
    if parsed.kind != "folder" or parsed.arg is None:
        return None
    return choose(folder_facts(parsed.arg))


def _absolute_spec(spec: str) -> str:
    """``spec`` with absolute paths, so config.json finds the data from any directory (drawlab.data.absolute_spec)."""
    from .data import absolute_spec  # lazy like the rest of this file: torch loads only when a command needs it

    return absolute_spec(spec)


def _apply_length(cfg: TrainConfig, a: argparse.Namespace) -> None:
    length = {k: getattr(a, k) for k in ("steps", "epochs", "minutes")}
    if a.dry_run:
        length = {"steps": 2, "epochs": None, "minutes": None}
    if any(v is not None for v in length.values()):
        cfg.steps, cfg.epochs, cfg.minutes = length["steps"], length["epochs"], length["minutes"]


def _resume_config(a: argparse.Namespace) -> TrainConfig:
    """The run's own config.json with what a --resume may change applied (declared ``resume=True``)."""
    from .run import RunDir

    may = resume_may_change()
    fixed = [p for p in given(a) if p not in may] + [o for o in NOT_SETTINGS if getattr(a, o, None) is not None]
    if fixed:
        names = ", ".join(_flag(p) for p in fixed)
        allowed = ", ".join(_flag(p) for p in may)
        raise ConfigError(
            f"--resume continues a run with its own settings; {names} cannot change it (only {allowed} can): "
            "start a new run instead"
        )
    cfg, _ = RunDir(a.resume).read_config()
    _apply_length(cfg, a)
    cfg.cuda_graphs = None  # a runtime choice: given again on each resume, not inherited
    for path, value in given(a).items():
        if path not in ("steps", "epochs", "minutes"):
            set_path(cfg, path, value)
    return cfg


def _flag(path: str) -> str:
    """The command-line flag of a setting or option path ('model.lr_g' -> '--lr-g')."""
    for p, o, _ in options():
        if p == path and o.flag:
            return o.flag
    return "--" + path.split(".")[-1].replace("_", "-")


def cmd_train(a: argparse.Namespace) -> int:
    from .training import Trainer

    if a.resume:
        trainer = Trainer(_resume_config(a), a.resume, resume=True, progress=not a.no_progress)
    else:
        cfg = config_from_args(a)
        if cfg.data.spec.startswith("folder:faces") and "data.spec" not in given(a):
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
