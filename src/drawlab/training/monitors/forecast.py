"""The forecast: once a run has stepped a while, one line with the steps its minutes will make (or the
minutes its steps will take) at the speed measured here, and what its preset's measured quality curve says
that buys (training/forecast.py)."""

from __future__ import annotations

from ..events import Observer
from ..forecast import Curve, curve_for, forecast_line
from ..view import RunView
from . import register

AFTER_S = 20.0  # seconds of stepping before the speed is read: the first steps (caches, allocator) are slower
AFTER_SHARE = 0.1  # ...or this share of a short run's minutes, whichever comes first


@register
class Forecast(Observer):
    """Says ``forecast_line`` once, ``after`` seconds of stepping into this session of the run."""

    name = "forecast"
    order = 90

    def __init__(self, minutes: float | None, target: int | None, curve: Curve | None, after: float):
        self.minutes, self.target, self.curve, self.after = minutes, target, curve, after
        self.start: tuple[int, float] | None = None  # (step, elapsed) at the first step seen
        self.said = False

    @classmethod
    def build(cls, view: RunView) -> Forecast | None:
        cfg, target = view.cfg, view.target_steps
        if target is None and cfg.minutes is None:
            return None
        return cls(None if target else cfg.minutes, target, curve_for(cfg), after=AFTER_S)

    def on_step(self, view: RunView) -> None:
        if self.said:
            return
        if self.start is None:  # from the end of the first step: it holds one-off costs
            self.start = (view.step, view.elapsed)
            return
        step0, t0 = self.start
        if view.step <= step0 or not self._due(view.elapsed - t0, view.step):
            return
        rate = (view.step - step0) / (view.elapsed - t0)
        self.said = True
        left = None if self.minutes is None else self.minutes * 60 - view.elapsed
        view.echo(forecast_line(rate, view.step, left, self.target, self.curve))

    def _due(self, seconds: float, step: int) -> bool:
        """Time to say it: ``after`` seconds stepped (a run of steps shorter than that says nothing), or
        sooner in a short run of minutes (a tenth of them)."""
        if self.target is not None:
            return seconds >= self.after and step < self.target
        return seconds >= min(self.after, AFTER_SHARE * (self.minutes or 0.0) * 60)
