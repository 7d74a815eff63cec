"""The in-training evaluation (``--eval-every N``) as an observer: FID and its companions logged as
curves, the best-FID checkpoint kept, and a "no progress" verdict when FID stops improving."""

from __future__ import annotations

from ...files import read_jsonl
from ...records.verdicts import Kind, Verdict
from ..events import Observer
from ..view import RunView
from . import register

PATIENCE = 4  # evaluations without a new best FID before "no progress" is said


@register
class EvalProbe(Observer):
    """Runs ``probe`` (a metrics.probe.FIDProbe) every ``every`` steps."""

    name = "eval-probe"
    order = 30

    def __init__(self, probe, every: int, patience: int = PATIENCE):
        self.probe, self.every, self.patience = probe, every, patience
        self.history: list[tuple[int, float]] = []  # (step, FID)
        self.said = False

    @classmethod
    def build(cls, view: RunView) -> EvalProbe | None:
        """With --eval-every: the feature net and the real features first (built before the run directory
        exists, so a bad --eval-n is said before anything is written)."""
        cfg = view.cfg
        if not cfg.eval_every:
            return None
        from ...metrics.probe import FIDProbe

        return cls(
            FIDProbe(view.data, cfg.eval_n, cfg.data.root, view.device, echo=view.echo, tag=view.family.sampling_tag()),
            cfg.eval_every,
        )

    def on_start(self, t: RunView) -> None:
        name = self.probe.name
        self.history = [
            (int(r["step"]), float(r[name]))
            for r in read_jsonl(t.run.metrics)
            if r.get("eval") and name in r and int(r["step"]) <= t.step
        ]
        self.said = any(v.kind is Kind.NO_PROGRESS for v in t.verdicts())

    def on_step(self, t: RunView) -> None:
        if t.step % self.every == 0:
            self.evaluate(t)
            t.log.reset_clock()

    def evaluate(self, t: RunView) -> dict[str, float]:
        """Log the probe's values; a new best FID keeps checkpoints/best.safetensors."""
        values = self.probe(t.family)
        t.log.log_eval(t.step, values)
        best = t.run.read_best()
        value = values[self.probe.name]
        if best is None or best.get("metric") != self.probe.name or value < float(best["value"]):
            t.run.save_best(t.family, t.step, {"metric": self.probe.name, "value": value})
        self.history.append((t.step, value))
        v = self.check()
        if v is not None:
            t.verdict(v)
        return values

    def check(self) -> Verdict | None:
        """ "No progress" (once) when none of the last ``patience`` evaluations beat the best before them."""
        if self.said or len(self.history) <= self.patience:
            return None
        before, last = self.history[: -self.patience], self.history[-self.patience :]
        best_step, best = min(before, key=lambda sv: sv[1])
        if min(v for _, v in last) < best:
            return None
        self.said = True
        step = last[-1][0]
        return Verdict(
            Kind.NO_PROGRESS,
            step,
            best_step,
            f"no progress: {self.probe.name} has not improved for the last {self.patience} evaluations "
            f"(best {best:.3g} at step {best_step:,})",
            f"stopping here and sampling the best weights (`drawlab sample RUN --checkpoint best`, "
            f"step {best_step:,}), or lower learning rates",
        )
