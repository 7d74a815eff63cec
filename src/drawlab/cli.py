"""The `drawlab` command line: sample, evaluate, compare, report, models, data (train from cli_train;
interpolate, inspect, serve from cli_explore).

Every bad input ends in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import cli_explore, cli_lab, cli_share
from .cli_args import LABEL, SEED, add_sampling, check_out_file, check_seed, parse_ints, sampling_of, whole
from .cli_train import _add_train, cmd_train
from .config import DEFAULT_PRESET, PRESETS, guidance_words
from .errors import ConfigError, DrawlabError


def _add_sample(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="draw images from a trained run",
        description="Draw images from a trained run: a PNG grid or an .npz of uint8 images.",
    )
    p.add_argument("run_dir")
    p.add_argument("--n", type=whole(1, 1_000_000), default=64, help="how many images (default 64)")
    p.add_argument("--seed", type=SEED, default=0, help="the same seed gives the same images, always")
    p.add_argument(
        "--seeds",
        help="one image per seed, e.g. 3,17,42 (the class is seed %% classes unless --label "
        "says; the same picture as in `interpolate` and `serve`)",
    )
    p.add_argument("--label", type=LABEL, help="class to draw (conditional models)")
    p.add_argument("--checkpoint", help="step or file name of a checkpoint (default: the newest)")
    p.add_argument("--out", default=None, help="grid.png or samples.npz (default RUN/samples/sample-seedS.png)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--nrow", type=whole(1, 10_000), default=None, help="images per grid row")
    add_sampling(p)


def cmd_sample(a: argparse.Namespace) -> int:
    import numpy as np

    from .api import load
    from .files import atomic_write
    from .images import grid_array, save_png, to_hwc_array
    from .run import RunDir

    seeds = parse_ints(a.seeds, "--seeds") if a.seeds is not None else None
    tag = f"seeds{'-'.join(map(str, seeds[:5]))}" if seeds else f"seed{a.seed}"
    out = (
        check_out_file(a.out)
        if a.out
        else RunDir(a.run_dir).writable("the sample grid") / "samples" / f"sample-{tag}.png"
    )
    if out.suffix.lower() not in (".png", ".npz"):
        raise ConfigError(f"--out {out}: use a .png (grid) or .npz (arrays) file name")
    check_seed(a.seed)
    if a.label is not None and not 0 <= a.label < 2**31:
        raise ConfigError(f"--label {a.label} is out of range: give a class number such as 0..9")
    if a.nrow is not None and a.nrow < 1:
        raise ConfigError(f"--nrow must be at least 1, got {a.nrow}")
    drawer = load(a.run_dir, checkpoint=a.checkpoint, device=a.device, **sampling_of(a))
    imgs, labels = drawer.sample_tensor(a.n, seed=a.seed, labels=a.label, seeds=seeds)
    how = drawer.family.sampling()  # the denoisers' sampler, steps, guidance: stored with the samples
    made = {"model": drawer.family.name, "step": drawer.step, "seeds": seeds, "seed": a.seed, "label": a.label}
    made = {k: v for k, v in made.items() if v is not None and not (k == "seed" and seeds)}
    record = json.dumps({**made, "sampling": how})
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npz":
        arrays = {"images": to_hwc_array(imgs), "made": np.array(record)}  # a str array: no pickle to read it
        if drawer.conditional:
            arrays["labels"] = labels.numpy()
        # mypy matches **arrays against numpy's keyword-only ``allow_pickle: bool``; no key here is that
        atomic_write(out, lambda tmp: np.savez_compressed(tmp, **arrays))  # type: ignore[arg-type]
    else:
        nrow = a.nrow or (
            len(seeds) if seeds and len(seeds) <= 10 else 10 if drawer.conditional and a.label is None else 8
        )
        save_png(grid_array(imgs, nrow=nrow), out, text={"drawlab": record})
    said = "" if how is None else f", {how['sampler']} {how['steps']} steps, guidance {guidance_words(how)}"
    print(
        f"{len(imgs)} images from {drawer.facts['data_name']} model {drawer.family.name} (step {drawer.step}"
        f"{said}) -> {out}"
    )
    return 0


def cmd_models(a: argparse.Namespace) -> int:
    from .models import list_models

    for name, summary in list_models():
        print(f"{name:10s} {summary}")
    return 0


def cmd_losses(a: argparse.Namespace) -> int:
    from .losses import summaries

    for name, summary in summaries():
        print(f"{name:14s} {summary}")
    return 0


def cmd_data(a: argparse.Namespace) -> int:
    from .data import list_sources

    for name, summary in list_sources():
        print(f"{name:14s} {summary}")
    return 0


def cmd_presets(a: argparse.Namespace) -> int:
    for name, p in PRESETS.items():
        print(f"{name:12s} {p['summary']}{' (default)' if name == DEFAULT_PRESET else ''}")
    return 0


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="measure a trained run: FID, KID, precision/recall, modes, memorisation",
        description="Measure a trained run in the features of a network trained on its own data "
        "(once, cached under the data root), each metric beside the same metric between "
        "two disjoint real sets. Writes RUN/eval.json and appends to RUN/metrics.jsonl.",
    )
    p.add_argument("run_dir")
    p.add_argument(
        "--n",
        type=whole(2, 1_000_000),
        default=10_000,
        help="generated and real images per set (default 10000; len(data) // 2 when the data is smaller)",
    )
    p.add_argument("--checkpoint", help="step or file name of a checkpoint (default: the newest)")
    p.add_argument("--seed", type=SEED, default=0, help="noise and real-split seed (default 0)")
    p.add_argument("--json", dest="json_out", help="also write the evaluation to this JSON file")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--data-root", help="where the data and the cached feature networks live (default: the run's data root)"
    )
    p.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="also the standard FID in Inception-v3 features (torch-fidelity) from this local .pth file",
    )
    p.add_argument(
        "--feature-steps",
        type=whole(1, 10_000_000),
        help="training steps of the feature network when it is first trained (default: about 10 epochs)",
    )
    add_sampling(p)


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .metrics.evaluate import evaluate
    from .metrics.report import table

    if a.feature_steps is not None and a.feature_steps < 1:
        raise ConfigError(f"--feature-steps must be at least 1, got {a.feature_steps}")
    check_seed(a.seed)
    if a.inception_weights:
        from .metrics.inception import check_weights

        check_weights(a.inception_weights)
    if a.json_out:
        check_out_file(a.json_out, "--json")
    if a.data_root and Path(a.data_root).exists() and not Path(a.data_root).is_dir():
        raise ConfigError(f"--data-root {a.data_root} is a file: give a folder")
    res = evaluate(
        a.run_dir,
        n=a.n,
        checkpoint=a.checkpoint,
        device=a.device,
        seed=a.seed,
        json_out=a.json_out,
        data_root=a.data_root,
        feature_steps=a.feature_steps,
        inception_weights=a.inception_weights,
        sampling=sampling_of(a),
    )
    print(table(res.record))
    print(f"eval: {res.path}")
    return 0


def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="several evaluated runs side by side: a Markdown table and a bar chart",
        description="Compare runs from their eval.json (run `drawlab evaluate RUN` first): "
        "writes a Markdown table and a bar chart PNG beside it.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument(
        "--out",
        default="compare.md",
        help="Markdown file (default compare.md; the chart goes to the same name with .png)",
    )


def cmd_compare(a: argparse.Namespace) -> int:
    from .metrics.compare import compare

    check_out_file(a.out)
    md, png = compare(a.run_dirs, a.out)
    print(md.read_text().rstrip())
    print(f"\ntable: {md}\nchart: {png}")
    return 0


def _add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="one self-contained HTML page on a run: verdicts, curves, D's view, gallery",
        description="Write a self-contained HTML report of a run (images inline, no network): "
        "what went wrong and what to try, config, samples, evolution, losses, D's "
        "distributions, evaluation, the ranked gallery and timing. Works while a run "
        "trains and on interrupted runs.",
    )
    p.add_argument("run_dir")
    p.add_argument("--out", help="HTML file (default RUN/report.html)")
    p.add_argument(
        "--gallery",
        action="store_true",
        help="only the ranked gallery: the 16 samples D rates most and least real -> RUN/monitor/gallery.png",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--feature-steps",
        type=whole(1, 10_000_000),
        help="models without D rank the gallery in evaluation features: "
        "training steps of that network when it is first trained",
    )


def cmd_report(a: argparse.Namespace) -> int:
    from .run import RunDir

    RunDir(a.run_dir).read_config()  # one line, exit 2, when it is not a run
    if a.feature_steps is not None and a.feature_steps < 1:
        raise ConfigError(f"--feature-steps must be at least 1, got {a.feature_steps}")
    if a.gallery:
        from .report import ranked_gallery

        g = ranked_gallery(a.run_dir, device=a.device, feature_steps=a.feature_steps)
        print(f"{g.method}\ngallery: {g.path}")
        return 0
    out = check_out_file(a.out) if a.out else None
    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {out}: give an .html file name")
    from .report import build_report

    path = build_report(a.run_dir, out, device=a.device, feature_steps=a.feature_steps)
    print(f"report: {path}")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (``drawlab: error: ...``, exit 2), not usage text."""

    def error(self, message: str):
        raise ConfigError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    ap = OneLineParser(prog="drawlab", description="A workbench for teaching machines to draw.")
    ap.add_argument("--version", action="version", version=f"drawlab {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    _add_sample(sub)
    _add_evaluate(sub)
    _add_compare(sub)
    _add_report(sub)
    cli_explore.add_parsers(sub)
    cli_lab.add_parser(sub)
    cli_share.add_parsers(sub)
    sub.add_parser("models", help="list the model families")
    sub.add_parser("data", help="list the data sources")
    sub.add_parser("losses", help="list the adversarial losses")
    sub.add_parser("presets", help="list the named training recipes")
    return ap


COMMANDS = {
    "train": cmd_train,
    "sample": cmd_sample,
    "models": cmd_models,
    "data": cmd_data,
    "losses": cmd_losses,
    "presets": cmd_presets,
    "evaluate": cmd_evaluate,
    "compare": cmd_compare,
    "report": cmd_report,
    **cli_explore.COMMANDS,
    "lab": cli_lab.cmd_lab,
    **cli_share.COMMANDS,
}


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"drawlab: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning
    ap = build_parser()
    try:
        a = ap.parse_args(argv)
        if a.command is None:
            ap.print_help()
            return 0
        return COMMANDS[a.command](a)
    except DrawlabError as e:
        print(f"drawlab: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("drawlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
