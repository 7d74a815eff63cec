"""The watchdog: reads the training log and the fixed-noise samples, and records in words, once each,
when D has won, the generator's loss froze, or the samples collapsed (non-finite numbers are the NaN
guard's: it comes first and rolls back or stops the run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch

from ...config import ModelConfig
from ...files import trim_jsonl
from ...losses import PROBABILITY, Readout, Scale
from ...models.adversarial import AdversarialFamily
from ...records import verdicts
from ...records.verdicts import Kind, Verdict
from ..diagnostics import diversity
from ..events import Observer
from ..view import RunView
from . import register

WARMUP_STEPS = 250  # fixed-noise samples of a healthy run are diverse by now (measured: 41% of the real
NEVER_DIVERSE = 0.25  # images' at step 273 for mnist-cgan; a run collapsed from the start: 20%)...
FLAT_GRIDS = 3  # ...unless still rising (faces: 16%, 24%, ... of the real faces' at steps 200, 400, ...):
# "collapsed from the start" needs this many grids without a 10% rise
D_WINS_STEPS = 200  # D must win this long: D winning early is common and often passes (faces-dcgan: steps 100-250)


def real_diversity(view: RunView) -> float:
    """``diversity`` of real images with the fixed grid's label mix: what the grid's should be near."""
    data, fixed_y = view.data, view.fixed_y.cpu()
    g = torch.Generator().manual_seed(view.cfg.seed)
    if not (view.family.conditional and data.labels is not None):
        idx, labels = torch.randperm(len(data), generator=g)[: len(fixed_y)], None
    else:
        per_class = []
        for k in fixed_y.unique().tolist():
            of_k = (data.labels == k).nonzero().flatten()
            per_class.append(of_k[torch.randperm(len(of_k), generator=g)[: int((fixed_y == k).sum())]])
        idx = torch.cat(per_class)
        labels = data.labels[idx]
    images = torch.stack([data.load_item(int(i))[0] for i in idx])
    return diversity(images, labels)


@register
class Watchdog(Observer):
    """Finds problems in metrics records (``check_record``) and sample grids (``check_samples``).

    ``data_diversity`` is ``diversity`` of as many real images (same label mix) as the grid holds;
    ``readout`` says how D's numbers read under the run's loss. As an observer (adversarial runs) it hands
    each finding to ``view.verdict`` (a warning, and a line in ``RUN/monitor/verdicts.jsonl``).
    """

    name = "watchdog"
    order = 10

    def __init__(
        self,
        data_diversity: float,
        cfg: ModelConfig | None = None,
        readout: Readout = PROBABILITY,
        patience: int = 3,
        collapse_ratio: float = 0.5,
        d_wins_steps: int = D_WINS_STEPS,
    ):
        self.data_diversity, self.patience, self.collapse_ratio = data_diversity, patience, collapse_ratio
        self.d_wins_steps = d_wins_steps  # how long D must have won (and ``patience`` records) to say so
        self.ratios: list[float] = []  # diversity / the real images', grid by grid
        self.cfg, self.readout = cfg or ModelConfig(), readout
        self.best_ratio = 0.0  # early samples are alike before G has learnt anything: collapse is a fall from here
        self.said: set[Kind] = set()
        self.records: list[dict] = []
        self.win_since: int | None = None

    # -- as an observer -----------------------------------------------------------------------------
    @classmethod
    def build(cls, view: RunView) -> Watchdog | None:
        if not view.family.adversarial:
            return None
        target = view.target_steps  # a short run may say "D wins" after a quarter of it
        wins = D_WINS_STEPS if target is None else min(D_WINS_STEPS, max(1, target // 4))
        readout = cast(AdversarialFamily, view.family).readout
        return cls(real_diversity(view), view.cfg.model, readout, d_wins_steps=wins)

    def on_start(self, view: RunView) -> None:
        trim_jsonl(view.run.monitor / "verdicts.jsonl", view.step)  # findings past the checkpoint are redone
        self.said = verdicts.kinds(view.verdicts())

    def on_log(self, view: RunView, rec: dict[str, Any]) -> None:
        for v in self.check_record(rec):
            view.verdict(v)

    def on_grid(self, view: RunView, images: torch.Tensor, path: Path) -> None:
        labels = view.fixed_y.cpu() if view.family.conditional else None
        for v in self.check_samples(images.cpu(), labels, view.step):
            view.verdict(v)

    # -- the checks ---------------------------------------------------------------------------------
    def _once(self, v: Verdict) -> list[Verdict]:
        if v.kind in self.said:
            return []
        self.said.add(v.kind)
        return [v]

    def check_record(self, rec: dict) -> list[Verdict]:
        """Findings in one metrics.jsonl record (losses and D's mean outputs)."""
        self.records.append(rec)
        step, out = int(rec["step"]), []
        out += self._check_d_wins(rec, step)
        window = self.records[-2 * self.patience :]
        if len(window) == 2 * self.patience and "loss_g" in rec:
            spread = max(r["loss_g"] for r in window) - min(r["loss_g"] for r in window)
            if spread < 1e-4 * max(1.0, abs(rec["loss_g"])):
                since = int(window[0]["step"])
                out += self._once(
                    Verdict(
                        Kind.FROZEN,
                        step,
                        since,
                        f"the generator's loss has not moved since step {since:,}: training is stuck",
                        f"other learning rates (now --lr-g {self.cfg.lr_g:g}, "
                        f"--lr-d {self.cfg.lr_d:g}), and check that the data is what you meant",
                    )
                )
        return out

    def _check_d_wins(self, rec: dict, step: int) -> list[Verdict]:
        r = self.readout
        real, fake = rec.get(r.keys[0]), rec.get(r.keys[1])
        if real is None or fake is None or not r.wins(real, fake):
            self.win_since = None
            return []
        if self.win_since is None:
            self.win_since = step  # the first record of the streak
        streak = [
            x
            for x in self.records[-self.patience :]
            if x.get(r.keys[0]) is not None and r.wins(x[r.keys[0]], x[r.keys[1]])
        ]
        if len(streak) < self.patience or step - self.win_since < self.d_wins_steps:
            return []
        since = self.win_since
        if r.scale is Scale.PROBABILITY:
            how = f"{r.names[1]} < {r.won[1]:g} while {r.names[0]} > {r.won[0]:g}"
        else:
            how = f"{r.names[1]} below {r.won[1]:g} and {r.names[0]} above {r.won[0]:g}"
            how += f": {r.won_words}" if r.won_words else ""
        d_width = self.cfg.d_width or self.cfg.width
        lr_g, lr_d = self.cfg.lr_g, self.cfg.lr_d
        lr = (
            f"--lr-g {lr_d:g} (G now learns {lr_d / lr_g:.0f}x slower than D)"
            if lr_g < lr_d / 4
            else f"--lr-d {lr_g / 2:g} (half of --lr-g)"
        )
        return self._once(
            Verdict(
                Kind.D_WINS,
                step,
                since,
                f"D has been winning since step {since:,} ({how}); G gets almost no useful gradient",
                f"{lr}, --instance-noise 0.1, or --d-width {max(4, d_width // 2)}",
            )
        )

    def check_samples(self, images: torch.Tensor, labels: torch.Tensor | None, step: int) -> list[Verdict]:
        """Findings in the fixed-noise samples (uint8 (N, C, H, W)) at ``step``: collapse is diversity
        below ``collapse_ratio`` of the real images' and below half the best seen so far in this run,
        or, from ``WARMUP_STEPS`` on, below ``NEVER_DIVERSE`` of the real images' and not rising over the
        last ``FLAT_GRIDS`` grids (collapsed from the start, not merely slow to learn)."""
        if self.data_diversity <= 0:
            return []
        ratio = diversity(images, labels) / self.data_diversity
        self.best_ratio = max(self.best_ratio, ratio)
        self.ratios.append(ratio)
        flat = len(self.ratios) >= FLAT_GRIDS and ratio <= 1.1 * self.ratios[-FLAT_GRIDS]
        never_diverse = step >= WARMUP_STEPS and ratio < NEVER_DIVERSE and flat  # alike from the start, still so
        if never_diverse or (ratio < self.collapse_ratio and ratio < 0.5 * self.best_ratio):
            which = "of the same class " if labels is not None else ""
            return self._once(
                Verdict(
                    Kind.COLLAPSE,
                    step,
                    step,
                    f"samples {which}from different noise look alike "
                    f"at step {step:,} (diversity {ratio:.0%} of the real images'): mode collapse",
                    f"a lower --lr (e.g. {self.cfg.lr_g / 2:g}), --flip-labels 0.05, "
                    "--instance-noise 0.1, or more data",
                )
            )
        return []
