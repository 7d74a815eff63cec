"""`drawlab lab`: the 2D lab. With --out DIR it trains headless and writes the pictures and metrics;
without it, it serves the live page (like `drawlab serve`: local unless told, a token in the URL).

Every setting's option is made from ``lab.settings.Settings`` (declared there once).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import fields
from pathlib import Path
from typing import Any

from .cli_args import Number, whole
from .errors import ConfigError


def add_parser(sub) -> None:
    from .lab.settings import Settings, flag

    p = sub.add_parser(
        "lab",
        help="the 2D lab: watch a GAN learn, fail and recover on toy data (live page, or --out DIR headless)",
        description="The 2D lab. Without --out: serve the live page. With --out DIR: train headless and write "
        "DIR/final.png, run.gif, metrics.jsonl, summary.json and settings.json.",
    )
    p.add_argument("--out", help="train headless and write the run here")
    p.add_argument("--preset", help="a lesson (see --list-presets)")
    p.add_argument("--list-presets", action="store_true", help="list the lessons, one per line")
    p.add_argument("--settings", help="a settings.json (from a run or the page's export) to replay exactly")
    p.add_argument("--points", help="a PNG whose dark pixels are the data (the CLI's drawn distribution)")
    p.add_argument(
        "--compare",
        help="a second run beside the first, with these changes, e.g. 'unroll=5' or 'loss=wgan-gp,d_steps=5'",
    )
    p.add_argument("--frames", type=whole(0, 1000), default=40, help="frames of run.gif (0: none; default 40)")
    p.add_argument("--host", default="127.0.0.1", help="where the page listens (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=whole(0, 65535), default=7861, help="the page's port (0: any free one)")
    for f in fields(Settings):
        if f.name == "schedule":
            continue
        rng, choices = f.metadata["range"], f.metadata["choices"]
        kw: dict[str, Any] = {"dest": f.name, "default": None, "help": f.metadata["help"]}
        if isinstance(f.default, bool):
            kw.update(action=argparse.BooleanOptionalAction)
        elif choices:
            kw["choices"] = choices
        elif rng is not None:
            kw["type"] = Number(int if rng.integer else float, rng)
        p.add_argument(f"--{flag(f.name)}", **kw)


def _given(a: argparse.Namespace) -> dict[str, Any]:
    from .lab.settings import Settings

    return {
        f.name: getattr(a, f.name) for f in fields(Settings) if f.name != "schedule" and getattr(a, f.name) is not None
    }


def parse_changes(text: str) -> dict[str, Any]:
    """'unroll=5,loss=wgan-gp' -> {"unroll": 5, "loss": "wgan-gp"}; ConfigError for a malformed pair."""
    import json

    out: dict[str, Any] = {}
    for part in filter(None, (t.strip() for t in text.split(","))):
        if "=" not in part:
            raise ConfigError(f"--compare {text!r}: give setting=value pairs, e.g. 'unroll=5,pack=2'")
        k, v = (t.strip() for t in part.split("=", 1))
        try:
            out[k.replace("-", "_")] = json.loads(v)
        except json.JSONDecodeError:
            out[k.replace("-", "_")] = v
    if not out:
        raise ConfigError("--compare is empty: give setting=value pairs, e.g. 'unroll=5'")
    return out


def cmd_lab(a: argparse.Namespace) -> int:
    from .lab import headless
    from .lab.dists import points_dist, points_from_png
    from .lab.presets import LESSONS, get_lesson
    from .lab.settings import Settings, read_settings, replace

    if a.list_presets:
        for les in LESSONS.values():
            print(f"{les.name}: {les.teaches}")
        return 0
    given = _given(a)
    base = read_settings(a.settings) if a.settings else Settings()
    dist = None
    if a.points:
        dist = points_dist(points_from_png(a.points))
        given["dist"] = "points"
    if a.preset:
        les = get_lesson(a.preset)
        if les.dirac is not None:
            if a.compare:
                raise ConfigError(f"--compare applies to 2D runs; --preset {a.preset} is a Dirac-GAN lesson: drop it")
            if a.out is None:
                raise ConfigError(f"--preset {a.preset} is a Dirac-GAN lesson: give --out DIR to draw it")
            d = les.dirac
            over = {k: v for k, v in given.items() if k in ("loss", "r1", "gp", "steps")}
            if "lr_d" in given:
                over["lr"] = given["lr_d"]
            headless.dirac(dataclasses.replace(d, **over).check(), Path(a.out))
            return 0
        base = replace(base, **les.settings)
    s = replace(base, **given)
    if s.dist == "points" and dist is None:
        raise ConfigError("--dist points needs --points FILE.png (the dark pixels are the data)")
    if a.out is None:
        from .lab.server import serve

        serve(s, dist, host=a.host, port=a.port, compare=parse_changes(a.compare) if a.compare else None)
        return 0
    out = Path(a.out)
    if a.compare:
        headless.compare(s, parse_changes(a.compare), out, dist, a.frames)
        return 0
    headless.train(s, out, dist, a.frames)
    return 0
