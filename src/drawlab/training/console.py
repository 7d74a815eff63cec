"""The terminal side of a training run: the progress bar, the summary line, and Ctrl-C / SIGTERM
turned into a clean stop between steps."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Any

from ..losses import Readout

if TYPE_CHECKING:
    from .trainer import TrainResult


class StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps (a second Ctrl-C aborts at once)."""

    def __init__(self):
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread: signals stay as they are
                pass
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def summary_line(res: TrainResult, rec: dict[str, Any] | None, readout: Readout | None = None) -> str:
    """One line: where the run stands and what D's numbers mean (on the loss's scale)."""
    head = "interrupted" if res.interrupted else "done"
    parts = [f"{head}: step {res.step} (epoch {res.epoch:.1f}), {res.seconds:.0f}s training, {res.img_per_s:.0f} img/s"]
    if rec and readout is not None and readout.keys[0] in rec:
        real, fake = rec[readout.keys[0]], rec[readout.keys[1]]
        parts.append(f"{readout.names[0]}={real:.2f} {readout.names[1]}={fake:.2f}: {readout.explain(real, fake)}")
    if res.last_grid:
        parts.append(f"samples: {res.last_grid}")
    if res.interrupted:
        parts.append(f"checkpoint saved; continue with: drawlab train --resume {res.run_dir}")
    return " | ".join(parts)


def postfix(rec: dict[str, Any] | None) -> str:
    if not rec:
        return ""
    keys = [k for k in ("loss_d", "loss_g", "d_real", "d_fake", "img_per_s") if k in rec]
    return " ".join(f"{k}={rec[k]:.3g}" for k in keys)


class NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def close(self) -> None: ...


def say(line: str) -> None:
    """A line to stderr."""
    print(line, file=sys.stderr)


def say_above_bar(line: str) -> None:
    """A line to stderr above the progress bar, which is redrawn below it (a plain print would share its line)."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def progress_bar(enabled: bool, total: int | None, initial: int, minutes: float | None):
    if not enabled:
        return NoBar()
    from tqdm import tqdm

    desc = "train" if total is not None else f"train ({minutes:g} min)"
    return tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True, file=sys.stderr)
