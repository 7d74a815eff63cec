"""Fault injection, a documented testing aid: ``DRAWLAB_FAULT`` names faults to cause at named points.

    DRAWLAB_FAULT=nan@120                      the losses become NaN at training step 120
    DRAWLAB_FAULT=enospc@checkpoint            the next checkpoint write fails: "No space left on device"
    DRAWLAB_FAULT=erofs@grid                   the next grid write fails: "Read-only file system"
    DRAWLAB_FAULT=crash@checkpoint-rename      the process dies (SIGKILL) at that point of a checkpoint write
    DRAWLAB_FAULT=nan@50,enospc@log            several, comma-separated

Write kinds (``enospc``/``erofs``): checkpoint, latest, config, grid, snapshot, log, monitor, cache, file.
Crash points: ``KIND-write`` (temporary file written, not yet synced), ``KIND-fsync`` (synced, not renamed),
``KIND-rename`` (renamed into place, directory not yet synced), ``checkpoint-latest`` (weights and state
written, latest.json not yet), ``checkpoint-rotate`` (latest.json written, old checkpoints not yet deleted).
Each write and NaN fault fires once per process. Unset, every check is one test of an empty tuple.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConfigError

ENV = "DRAWLAB_FAULT"
WRITE_ERRORS = {"enospc": errno.ENOSPC, "erofs": errno.EROFS}
KINDS = ("nan", "crash", *WRITE_ERRORS)


@dataclass(frozen=True)
class Fault:
    """One planned fault: ``kind`` (nan, crash, enospc, erofs) at ``where`` (a step, point or write kind)."""

    kind: str
    where: str


def parse(text: str) -> tuple[Fault, ...]:
    """``"nan@5,crash@checkpoint-rename"`` -> Faults; ConfigError (saying what is allowed) on a bad item."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        kind, at, where = item.partition("@")
        if not at or kind not in KINDS or not where or (kind == "nan" and not where.isdigit()):
            raise ConfigError(
                f"{ENV}: {item!r} is not KIND@WHERE with KIND one of {', '.join(KINDS)} "
                "(nan@STEP, crash@POINT, enospc@KIND, erofs@KIND)"
            )
        out.append(Fault(kind, where))
    return tuple(out)


_planned: tuple[Fault, ...] | None = None  # read from the environment at the first check
_fired: set[Fault] = set()
_crash_hook: Callable[[str], None] | None = None  # tests: see the files as a crash would leave them


def _faults() -> tuple[Fault, ...]:
    global _planned
    if _planned is None:
        _planned = parse(os.environ.get(ENV, ""))
    return _planned


def plan(text: str | None) -> None:
    """Replace the planned faults (tests); None: read the environment variable again at the next check."""
    global _planned
    _planned = None if text is None else parse(text)
    _fired.clear()
    on_crash(None)


def check() -> None:
    """Read DRAWLAB_FAULT now: a bad value is a ConfigError before anything is written."""
    _faults()


def on_crash(hook: Callable[[str], None] | None) -> None:
    """Tests: at a planned crash point call ``hook(point)`` (e.g. copy the run directory as a kill -9 there
    would leave it) instead of dying; None restores dying."""
    global _crash_hook
    _crash_hook = hook


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup (as kill -9 would), if ``crash@name`` is planned."""
    if Fault("crash", name) in _faults():
        if _crash_hook is not None:
            _crash_hook(name)
            return
        os.kill(os.getpid(), signal.SIGKILL)


def before_write(kind: str) -> None:
    """Raise the planned ENOSPC/EROFS OSError for the first write of ``kind`` (once per process)."""
    active = _faults()
    if not active:
        return
    for name, code in WRITE_ERRORS.items():
        f = Fault(name, kind)
        if f in active and f not in _fired:
            _fired.add(f)
            raise OSError(code, os.strerror(code) + f" (injected by {ENV})")


def planned(kind: str) -> bool:
    """True when a fault of ``kind`` (nan, crash, enospc, erofs) is planned."""
    return any(f.kind == kind for f in _faults())


def nan_at(step: int) -> bool:
    """True the first time ``step`` is reached when ``nan@step`` is planned: the trainer then makes that
    step's batch NaN, so its losses and, through the update, the weights become NaN."""
    f = Fault("nan", str(step))
    if f in _faults() and f not in _fired:
        _fired.add(f)
        return True
    return False
