"""Checks of command-line values shared by the commands: each bad value is one ConfigError line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import config
from .config import Range, options
from .errors import ConfigError


def check_out_file(path: str | Path, option: str = "--out") -> Path:
    """A file we may write: not an existing folder, and no existing file where its folder should be."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder: give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder")
            break
    return path


def check_seed(seed: int, option: str = "--seed") -> int:
    if not 0 <= seed < 2**63:
        raise ConfigError(f"{option} must be between 0 and 2**63 - 1, got {seed}")
    return seed


def parse_ints(text: str, option: str, lo: int = 0, hi: int = 2**63 - 1, most: int = 1000) -> list[int]:
    """'3,17,42' -> [3, 17, 42] and '0-3' -> [0, 1, 2, 3] (ranges inclusive), each in [lo, hi]; at most ``most``."""
    values: list[int] = []
    try:
        for part in (p for p in text.replace(" ", "").split(",") if p != ""):
            a, dash, b = part.partition("-") if not part.startswith("-") else ("", "", "")
            if dash and a and b:
                if int(b) < int(a) or int(b) - int(a) >= most:
                    raise ConfigError(f"{option} {part!r}: a range goes up, and holds at most {most} values")
                values += range(int(a), int(b) + 1)
            else:
                values.append(int(part))
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: give whole numbers separated by commas, e.g. 3,17,42, or a range, e.g. 0-63"
        ) from None
    if not values:
        raise ConfigError(f"{option} is empty: give whole numbers separated by commas, e.g. 3,17,42")
    if len(values) > most:
        raise ConfigError(f"{option}: at most {most} values, got {len(values)}")
    for v in values:
        if not lo <= v <= hi:
            raise ConfigError(f"{option} {v} is out of range: give values between {lo} and {hi}")
    return values


def check_range(value: int, option: str, lo: int, hi: int) -> int:
    if not lo <= value <= hi:
        raise ConfigError(f"{option} must be between {lo} and {hi}, got {value}")
    return value


class Number:
    """An argparse ``type``: a number of ``kind`` (int or float) that ``rng`` allows (always finite); any
    other text is one line naming the rule, e.g. "argument --n: must be in [1, 1000000], got 0"."""

    def __init__(self, kind: type, rng: Range):
        self.kind, self.range = kind, rng
        self.__name__ = "whole number" if kind is int else "number"

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {self.__name__}") from None
        why = self.range.problem(value)
        if why:
            raise argparse.ArgumentTypeError(why)
        return value


def whole(lo: int, hi: int) -> Number:
    """A whole number in [lo, hi]."""
    return Number(int, Range(lo, hi, integer=True))


SEED = whole(0, 2**63 - 1)
LABEL = whole(0, 2**31 - 1)


SAMPLING = tuple(f"model.{name}" for name in config.SAMPLING)  # what drawing commands may change


def add_sampling(p: argparse.ArgumentParser) -> None:
    """--sample-steps, --guidance, --sampler and the rest of ``config.SAMPLING`` for a command that draws
    (declared once, in config.py);
    the run's own settings are the defaults."""
    for path, o, f in options():
        if path in SAMPLING:
            assert o.flag is not None
            kind = int if "int" in str(f.type) else float
            typed: dict[str, Any] = {"type": Number(kind, o.check)} if o.check else {"choices": o.choices}
            p.add_argument(
                o.flag, dest=path.split(".")[1], default=None, help=o.help + " (default: the run's)", **typed
            )


def sampling_of(a: argparse.Namespace) -> dict[str, Any]:
    """The sampling a command was asked for, as ``drawlab.load`` takes it (None: the run's own)."""
    return {path.split(".")[1]: getattr(a, path.split(".")[1]) for path in SAMPLING}
