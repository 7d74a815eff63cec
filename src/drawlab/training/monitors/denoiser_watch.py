"""The denoisers' watch (flow, ddpm): when training ends, whether the EMA weights kept up with the raw
network and whether the sampler's output stays in the data's range; one verdict each where not.

Their loss says little of progress (it flattens early while the samples still improve): "no progress" is
the in-training FID's (``--eval-every``), and a non-finite loss the NaN guard's, as for every family.
"""

from __future__ import annotations

from typing import cast

import torch

from ...data.batches import to_unit_range
from ...models.denoising import DenoisingFamily
from ...records.verdicts import Kind, Verdict, kinds
from ..events import Observer
from ..view import RunView
from . import register

EMA_LAG = 1.5  # the EMA's denoising loss over the raw network's that says its samples lag (measured: a
# healthy mnist-flow run ends at 0.96-1.0; an EMA with a 10^9-image half-life and no ramp-up, ~4)
OVERSHOOT = 0.02  # share of sampled pixels beyond +-RANGE before the clamp that says the sampler blows up
RANGE = 1.1  # (measured on 16 samples: a 5-minute mnist-flow run 0.04% at guidance 1; ...). DDIM and ancestral
# DDPM clip their x0 estimates at every step: their output cannot overshoot, the check applies to the ODE
HELD = 64  # real images both networks are scored on
SAMPLES = 16  # fixed-noise images sampled for the range check


@register
class DenoiserWatch(Observer):
    """At ``on_finish``: ``check_ema`` and ``check_range``, each said once per run."""

    name = "denoiser-watch"
    order = 20

    def __init__(self, held: tuple[torch.Tensor, torch.Tensor | None]):
        self.held = held  # real images (HELD, C, H, W) in [-1, 1] and their labels
        self.said: set[Kind] = set()

    @classmethod
    def build(cls, view: RunView) -> DenoiserWatch | None:
        if not view.family.latent_is_image:
            return None
        data = view.data
        g = torch.Generator().manual_seed(view.cfg.seed)
        idx = torch.randperm(len(data), generator=g)[:HELD].tolist()
        items = [data.load_item(i) for i in idx]
        x = to_unit_range(torch.stack([im for im, _ in items])).to(view.device)
        y = torch.tensor([lab for _, lab in items], device=view.device) if data.labels is not None else None
        return cls((x, y))

    def on_start(self, view: RunView) -> None:
        self.said = kinds(view.verdicts())

    def on_finish(self, view: RunView, result) -> None:
        family = cast(DenoisingFamily, view.family)
        found = self.check_ema(family, view.step) + self.check_range(family, view.fixed_z, view.fixed_y, view.step)
        for v in found:
            if v.kind not in self.said:
                self.said.add(v.kind)
                view.verdict(v)

    # -- the checks ---------------------------------------------------------------------------------
    def check_ema(self, family: DenoisingFamily, step: int) -> list[Verdict]:
        """The EMA lags when its loss on the held images is over ``EMA_LAG`` x the raw network's."""
        losses = family.held_loss(*self.held)
        if "G_ema" not in losses or losses["G_ema"] <= EMA_LAG * losses["G"]:
            return []
        cfg = family.cfg
        ratio = losses["G_ema"] / max(losses["G"], 1e-12)
        return [
            Verdict(
                Kind.EMA_LAG,
                step,
                step,
                f"the EMA weights are still warming up: their denoising loss is {ratio:.1f}x the raw network's "
                f"({losses['G_ema']:.3g} against {losses['G']:.3g} on {HELD} real images), so what samples from "
                f"them (the grids, sample, evaluate) is worse than the network has learnt "
                f"(EMA half-life {cfg.ema_images:,.0f} images, ramp-up {cfg.ema_rampup:g})",
                f"a shorter --ema (e.g. {max(500, cfg.ema_images / 10):,.0f}), --ema-rampup 0.05, or a longer run",
            )
        ]

    def check_range(self, family: DenoisingFamily, z: torch.Tensor, y: torch.Tensor | None, step: int) -> list[Verdict]:
        """The output range is wrong when over ``OVERSHOOT`` of sampled pixels lie beyond +-``RANGE``."""
        raw = family.generate(z[:SAMPLES], None if y is None else y[:SAMPLES], clamp=False)
        share = float((raw.abs() > RANGE).float().mean())
        if share <= OVERSHOOT:
            return []
        cfg = family.cfg
        return [
            Verdict(
                Kind.RANGE,
                step,
                step,
                f"the sampler overshoots the data's range: {share:.0%} of the pixels of {SAMPLES} samples lie "
                f"beyond +-{RANGE:g} before the clamp to [-1, 1] (the data has none), so samples look blown out",
                f"more --sample-steps (now {cfg.sample_steps}), a lower --guidance (now {cfg.guidance:g}), "
                "or a longer run",
            )
        ]
