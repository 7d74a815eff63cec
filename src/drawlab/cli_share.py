"""`drawlab export RUN DIR` (hand a model on as a self-describing folder) and `drawlab pretrained` (the models
that ship with drawlab: `drawlab sample pretrained:NAME`)."""

from __future__ import annotations

import argparse
import json


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a run's generator as a self-describing folder (config.json, model.safetensors, model card)",
        description="Write DIR/config.json, DIR/model.safetensors (the sampling network only: the EMA copy "
        "when the run kept one), DIR/README.md (the model card) and DIR/samples.png. `drawlab sample`, "
        "`interpolate`, `serve` and drawlab.load() take DIR as they take the run, and draw the same pixels.",
    )
    p.add_argument("run_dir")
    p.add_argument("out", help="the folder to write (new, or empty)")
    p.add_argument("--checkpoint", help="a checkpoint step or file (default: the newest)")
    p.add_argument(
        "--onnx", action="store_true", help="also write DIR/model.onnx (checked with onnxruntime if installed)"
    )
    p.add_argument("--command", dest="trained_by", help="the command line that trained the run, for the model card")
    sub.add_parser("pretrained", help="list the pretrained models that ship with drawlab (pretrained:NAME)")


def cmd_export(a: argparse.Namespace) -> int:
    from .export import export_run

    export_run(a.run_dir, a.out, a.checkpoint, a.trained_by, a.onnx)
    return 0


def cmd_pretrained(a: argparse.Namespace) -> int:
    from .run import CONFIG, pretrained_names, pretrained_root

    names = pretrained_names()
    if not names:
        print("no pretrained models in this installation")
    for name in names:
        d = json.loads((pretrained_root() / name / CONFIG).read_text())
        f, e = d["facts"], d.get("export", {})
        print(
            f"pretrained:{name:14s} {d['train']['model']['name']} on {f.get('data_name')}, "
            f"{'x'.join(map(str, f['shape']))}, {e.get('parameters', 0):,} parameters, step {e.get('step')}"
        )
    return 0


COMMANDS = {"export": cmd_export, "pretrained": cmd_pretrained}
