"""`drawlab interpolate`, `drawlab inspect` and `drawlab serve`: exploring what a run has learnt."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .cli_args import (
    LABEL,
    SEED,
    Number,
    add_sampling,
    check_out_file,
    check_range,
    check_seed,
    parse_ints,
    sampling_of,
    whole,
)
from .config import Range
from .errors import ConfigError

MODES = ("slerp", "lerp", "sweep", "classes", "walk", "checkpoints", "trajectory", "nfe")


def _add_interpolate(sub) -> None:
    p = sub.add_parser(
        "interpolate",
        help="walk the latent space: lerp/slerp, sweeps, class walks, random walks, one latent through training",
        description="Draw a walk through a run's latent space as a PNG strip (rows x steps), a GIF or "
        "an .npz of uint8 frames. Frame 0 of --from S is `drawlab sample --seeds S`.",
    )
    p.add_argument("run_dir")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="slerp",
        help="slerp/lerp: --from S --to S; sweep: --seed S with --dim or --direction; classes: --seed S "
        "(conditional models); walk: --seed S; checkpoints: --seeds through the kept snapshots; flow, ddpm: "
        "trajectory (--seeds from noise to image, --steps columns) and nfe (--seeds at 1, 2, 5, 10, 20, 50 steps)",
    )
    p.add_argument("--from", dest="from_seed", type=SEED, help="first seed (lerp, slerp)")
    p.add_argument("--to", dest="to_seed", type=SEED, help="last seed (lerp, slerp)")
    p.add_argument("--seed", type=SEED, default=0, help="the starting seed (sweep, classes, walk; default 0)")
    p.add_argument("--seeds", default="1,2,3", help="seeds, one row each (checkpoints; default 1,2,3)")
    p.add_argument("--steps", type=whole(2, 1000), default=10, help="frames per row (default 10)")
    p.add_argument("--label", type=LABEL, help="class to draw (conditional models; default the seed's own)")
    p.add_argument("--dim", help="sweep these raw latent dimensions, one row each, e.g. 0,5")
    p.add_argument("--direction", help="sweep these principal directions (0 = the largest), one row each, e.g. 0,1,2")
    p.add_argument(
        "--range",
        nargs=2,
        type=Number(float, Range(-1000, 1000)),
        default=(-3.0, 3.0),
        metavar=("LO", "HI"),
        help="sweep values: a dimension is set to each, a direction moved by each (default -3 3)",
    )
    p.add_argument(
        "--step-size",
        type=Number(float, Range(0, 100, lo_open=True)),
        default=0.3,
        help="random-walk step per coordinate (default 0.3)",
    )
    p.add_argument("--out", help="strip.png, anim.gif or frames.npz (default RUN/explore/MODE.png)")
    p.add_argument(
        "--seconds", type=Number(float, Range(0, 600, lo_open=True)), default=3.0, help="GIF length (default 3)"
    )
    p.add_argument("--checkpoint", help="step, file name or 'best' (default: the newest)")
    p.add_argument("--device", default="cpu")
    add_sampling(p)


def _open(a: argparse.Namespace):
    from .api import load

    sampling = sampling_of(a) if hasattr(a, "sample_steps") else {}
    return load(a.run_dir, checkpoint=a.checkpoint, device=a.device, **sampling)


def _axes(drawer, a: argparse.Namespace) -> list:
    """The sweep's rows: raw dimensions and principal directions."""
    if not a.dim and not a.direction:
        raise ConfigError(
            "--mode sweep needs --dim D[,D...] (raw latent dimensions) or --direction K[,K...] (principal directions)"
        )
    axes: list = [(f"z[{d}]", d) for d in (parse_ints(a.dim, "--dim", 0, drawer.z_dim - 1) if a.dim else [])]
    if a.direction:
        ks = parse_ints(a.direction, "--direction", 0, min(drawer.z_dim, 50) - 1)
        from .explore import principal_directions_of

        dirs = principal_directions_of(drawer, k=max(ks) + 1)
        axes += [(f"direction {k} ({100 * float(dirs.share[k]):.0f}%)", dirs.vectors[k]) for k in ks]
    return axes


def cmd_interpolate(a: argparse.Namespace) -> int:
    from .explore import frames as fr
    from .run import RunDir

    out = check_out_file(a.out) if a.out else RunDir(a.run_dir).writable("the picture") / "explore" / f"{a.mode}.png"
    if out.suffix.lower() not in fr.OUT_SUFFIXES:
        raise ConfigError(f"--out {out}: use a .png (strip), .gif (animation) or .npz (arrays) file name")
    check_range(a.steps, "--steps", 2, 1000)
    check_seed(a.seed)
    if not 0 < a.seconds <= 600:
        raise ConfigError(f"--seconds must be between 0 and 600, got {a.seconds}")
    if a.mode in ("lerp", "slerp") and (a.from_seed is None or a.to_seed is None):
        raise ConfigError(f"--mode {a.mode} needs --from SEED and --to SEED, e.g. --from 3 --to 17")
    for s, opt in ((a.from_seed, "--from"), (a.to_seed, "--to")):
        if s is not None:
            check_seed(s, opt)
    if not all(math.isfinite(v) and abs(v) <= 100 for v in a.range):
        raise ConfigError(f"--range {a.range[0]} {a.range[1]}: give two finite numbers within -100..100, e.g. -3 3")
    if not a.step_size > 0:
        raise ConfigError(f"--step-size must be above 0, got {a.step_size}")
    drawer = _open(a)
    if a.label is not None:
        drawer.seed_labels([0], a.label)  # one line when the model or the label does not fit
    if a.mode in ("lerp", "slerp"):
        f = fr.interpolation(drawer, a.from_seed, a.to_seed, a.steps, a.mode == "slerp", a.label)
    elif a.mode == "sweep":
        f = fr.sweeps(drawer, a.seed, _axes(drawer, a), a.range[0], a.range[1], a.steps, a.label)
    elif a.mode == "classes":
        f = fr.classes(drawer, a.seed)
    elif a.mode == "walk":
        f = fr.walk(drawer, a.seed, a.steps, a.step_size, a.label)
    elif a.mode == "trajectory":
        from .explore import denoise

        f = denoise.trajectory(drawer, parse_ints(a.seeds, "--seeds", most=64), a.label, a.steps)
    elif a.mode == "nfe":
        from .explore import denoise

        f = denoise.by_steps(drawer, parse_ints(a.seeds, "--seeds", most=64), a.label)
    else:
        f = fr.through_training(drawer, parse_ints(a.seeds, "--seeds", most=64), a.label)
    out.parent.mkdir(parents=True, exist_ok=True)
    fr.save_frames(f, out, a.seconds)
    r, t = f.images.shape[:2]
    print(
        f"{a.mode}: {r} row(s) x {t} frames ({'; '.join(f.rows)}) from {drawer.family.name} step {drawer.step} -> {out}"
    )
    return 0


def _add_inspect(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="what D looks at: saliency maps and activation maximisation",
        description="Look inside a run's discriminator. --saliency: the gradient of D's logit with "
        "respect to the pixels over a real and a generated image (or --image PATH). "
        "--maximise: images optimised from noise to excite D's channels, and the image D "
        "finds most real.",
    )
    p.add_argument("run_dir")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--saliency", action="store_true")
    what.add_argument("--maximise", "--maximize", action="store_true")
    what.add_argument(
        "--invert",
        action="store_true",
        help="flow, ddpm: real images (or --image) run back to their noise and forward again, with the error",
    )
    p.add_argument("--seed", type=SEED, default=0, help="the generated image's seed, and the real image's pick")
    p.add_argument("--image", help="an image file to look at instead of a generated one")
    p.add_argument("--label", type=LABEL, help="the class D is told (conditional models; default the seed's own)")
    p.add_argument(
        "--smooth",
        type=whole(1, 1024),
        default=16,
        help="SmoothGrad: average the saliency over this many noisy copies (default 16; 1 = the plain gradient)",
    )
    p.add_argument("--channels", default="0,1,2,3", help="D's channels to maximise (default 0,1,2,3)")
    p.add_argument("--layer", type=whole(-1000, 1000), help="index of D's layer (default: the last convolution)")
    p.add_argument(
        "--iterations", type=whole(1, 100_000), default=200, help="optimisation steps of --maximise (default 200)"
    )
    p.add_argument("--out", help="PNG (default RUN/explore/saliency.png or maximise.png)")
    p.add_argument("--checkpoint", help="step, file name or 'best' (default: the newest)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-root", help="where the run's data lives (default: the run's data root)")
    add_sampling(p)


def cmd_inspect(a: argparse.Namespace) -> int:
    from .explore import inspect as ins

    name = "saliency" if a.saliency else "maximise" if a.maximise else "invert"
    from .run import RunDir

    out = check_out_file(a.out) if a.out else RunDir(a.run_dir).writable("the picture") / "explore" / f"{name}.png"
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: give a .png file name")
    check_seed(a.seed)
    check_range(a.iterations, "--iterations", 1, 100_000)
    check_range(a.smooth, "--smooth", 1, 1024)
    if a.image and not Path(a.image).is_file():
        raise ConfigError(f"--image {a.image}: no such file")
    drawer = _open(a)
    if a.invert:
        return _invert(drawer, a, out)
    ins.discriminator(drawer)  # one line when the run has no D
    if a.label is not None:
        drawer.seed_labels([0], a.label)
    out.parent.mkdir(parents=True, exist_ok=True)
    if a.saliency:
        panel = ins.saliency_of_run(drawer, a.seed, a.label, a.image, a.data_root, a.smooth)
        ins.save_saliency(panel, out, drawer.family.readout.scale.value == "probability")
        what = "P(real)" if drawer.family.readout.scale.value == "probability" else "score"
        vals = "; ".join(f"{t}: {v:.2f}" for t, v in zip(panel.titles, panel.values.tolist()))
        print(f"saliency; D's {what} of each: {vals} -> {out}")
    else:
        channels: list[int | str] = [ins.LOGIT, *parse_ints(a.channels, "--channels", 0, 4096, most=64)]
        imgs, titles = ins.maximise(drawer, channels, a.layer, a.iterations, seed=a.seed, label=a.label)
        ins.save_tiles(imgs, titles, out)
        print(f"maximised {len(channels) - 1} channel(s) of D and its logit (most real) -> {out}")
    return 0


def _invert(drawer, a: argparse.Namespace, out: Path) -> int:
    """`inspect --invert`: four real images of the run's data (picked by --seed), or --image."""
    import torch

    from .explore import denoise
    from .explore import inspect as ins
    from .explore.frames import save_frames

    denoise.denoiser(drawer)  # one line for a one-pass generator
    if a.image:
        images, labels = ins.image_file(drawer, a.image)[None], torch.tensor([a.label or 0])
    else:
        picked = [ins.real_image(drawer, a.seed + k, a.data_root) for k in range(4)]
        images, labels = torch.stack([p[0] for p in picked]), torch.tensor([p[1] for p in picked])
    frames, err = denoise.inversion(drawer, images, labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_frames(frames, out)
    print(
        f"inverted {len(images)} image(s) to noise and back: mean absolute error {err:.3f} (pixels in [-1, 1]) -> {out}"
    )
    return 0


def _add_serve(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="a web page to play with trained runs (seeds, classes, directions, interpolation, snapshots, D's view)",
        description="Serve the explorer at http://HOST:PORT: a local web page with no outbound calls.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--port", type=whole(0, 65535), default=7860, help="default 7860 (0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--directions", type=whole(0, 20), default=6, help="principal-direction sliders (default 6)")
    add_sampling(p)


def _tell(line: str) -> None:
    """A progress line on stderr, at once (stdout stays the command's output)."""
    print(line, file=sys.stderr, flush=True)


def cmd_serve(a: argparse.Namespace) -> int:
    from .serve import Explorer, serve

    check_range(a.port, "--port", 0, 65535)
    check_range(a.directions, "--directions", 0, 20)
    explorer = Explorer(a.run_dirs, device=a.device, k=a.directions, sampling=sampling_of(a), say=_tell)
    serve(explorer, a.host, a.port)
    return 0


def add_parsers(sub) -> None:
    _add_interpolate(sub)
    _add_inspect(sub)
    _add_serve(sub)


COMMANDS = {"interpolate": cmd_interpolate, "inspect": cmd_inspect, "serve": cmd_serve}
