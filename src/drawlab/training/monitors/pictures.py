"""At the end of training (done or interrupted), draw the monitor pictures into ``RUN/monitor/``:
D's heatmap, the loss curves and the evolution of the fixed-noise grid (strip and GIF)."""

from __future__ import annotations

from ...records.figures import write_figures
from ..events import Observer
from ..view import RunView
from . import register


@register
class Pictures(Observer):
    name = "pictures"
    order = 100  # last: the pictures show what every other monitor wrote

    @classmethod
    def build(cls, view: RunView) -> Pictures:
        return cls()

    def on_finish(self, t: RunView, result) -> None:

        written = write_figures(t.run)
        if written:
            t.echo(f"monitor: {', '.join(str(p) for p in written)}")
