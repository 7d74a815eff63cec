"""At the end of training (done or interrupted), draw the monitor pictures into ``RUN/monitor/``:
D's heatmap, the loss curves and the evolution of the fixed-noise grid (strip and GIF)."""

from __future__ import annotations

from .events import Observer


class Pictures(Observer):
    def on_finish(self, t, result) -> None:
        from ..records.figures import write_figures  # lazy until records/figures stops importing training

        written = write_figures(t.run)
        if written:
            t.echo(f"monitor: {', '.join(str(p) for p in written)}")
