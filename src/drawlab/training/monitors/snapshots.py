"""Snapshots of the sampling generator at log-spaced steps (0, 50, 100, 200, 500, 1000, 2000, 5000, ...
and the last step), outside the rotating checkpoints: the same latents drawn through training
(`drawlab interpolate --mode checkpoints`, the explorer's checkpoint slider)."""

from __future__ import annotations

from ..events import Observer
from ..view import RunView
from . import register


def is_snapshot_step(step: int, first: int = 50) -> bool:
    """0, then ``first`` and every 1-2-5 multiple of ten from it: 50, 100, 200, 500, 1000, 2000, 5000, ..."""
    if step == 0:
        return True
    if step < first:
        return False
    mag = 10 ** (len(str(step)) - 1)
    return step % mag == 0 and step // mag in (1, 2, 5)


def disk_size(paths) -> str:
    """The total size of ``paths`` in words: '1.2 MB'."""
    n = sum(p.stat().st_size for p in paths if p.exists())
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@register
class Snapshots(Observer):
    """Keeps ``RUN/snapshots/step-*.safetensors``; a resume first drops those past its checkpoint."""

    name = "snapshots"
    order = 80

    @classmethod
    def build(cls, view: RunView) -> Snapshots:
        return cls()

    def on_start(self, t: RunView) -> None:
        t.run.trim_snapshots(t.step)
        if t.step == 0:
            t.run.save_snapshot(t.family, 0)

    def on_step(self, t: RunView) -> None:
        if is_snapshot_step(t.step):
            t.run.save_snapshot(t.family, t.step)

    def on_finish(self, t: RunView, result) -> None:
        if t.step not in t.run.list_snapshots():
            t.run.save_snapshot(t.family, t.step)
        snaps = t.run.list_snapshots()
        t.echo(
            f"snapshots: {len(snaps)} of the generator (steps {', '.join(map(str, snaps))}) in "
            f"{t.run.snapshots}, {disk_size(snaps.values())}"
        )
