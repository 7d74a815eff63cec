"""GAN and reconstruction losses. Discriminators output raw logits (never a sigmoid).

An adversarial loss is an object: its D and G terms, and how D's output is to be read under it
(``Readout``): a probability for the non-saturating loss, a raw score with margins for hinge.
Monitors, the watchdog and the words in the log take their ranges and names from the readout, so
"D(x) = 0.95" is only ever said where D(x) is a probability.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import torch
import torch.nn.functional as F


class Scale(Enum):
    """What D's output means under a loss."""
    PROBABILITY = "probability"   # sigmoid(logit) in [0, 1]: D's belief that the input is real
    LOGIT = "logit"               # an unbounded score: higher = more real


@dataclass(frozen=True)
class Readout:
    """How to read D's output: the values histogrammed and logged, their range and their names.

    ``keys``: the metrics.jsonl names of the mean on real and generated images; ``names``: how the
    log and the report call them; ``won``: the bounds beyond which D wins outright (real above the
    first, generated below the second).
    """
    scale: Scale
    lo: float
    hi: float
    keys: tuple[str, str]
    names: tuple[str, str]
    won: tuple[float, float]
    meaning: str

    def values(self, logits: torch.Tensor) -> torch.Tensor:
        """D's logits (N,) -> the values on this scale (N,), float32."""
        x = logits.detach().float()
        return torch.sigmoid(x) if self.scale is Scale.PROBABILITY else x

    def wins(self, real: float, fake: float) -> bool:
        """Whether means ``real`` and ``fake`` on this scale say D separates them outright."""
        return real > self.won[0] and fake < self.won[1]


PROBABILITY = Readout(Scale.PROBABILITY, 0.0, 1.0, ("d_real", "d_fake"), ("D(x)", "D(G(z))"), (0.95, 0.05),
                      "D's probability that an image is real, in [0, 1]")
HINGE_LOGIT = Readout(Scale.LOGIT, -4.0, 4.0, ("logit_real", "logit_fake"), ("D's score on real", "D's score on fakes"),
                      (1.0, -1.0), "D's raw score (logit), unbounded; the hinge loss stops pushing beyond +1 "
                                   "on real and -1 on generated images")


class AdversarialLoss:
    """An adversarial loss: ``d_loss`` and ``g_loss`` on D's logits, and the ``readout`` of D's output.

    Targets are per-image floats: 1 = real, 0 = generated (label smoothing and flips change them).
    """
    name: ClassVar[str]
    readout: ClassVar[Readout]
    supports_smoothing: ClassVar[bool] = True

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor,
               real_targets: torch.Tensor, fake_targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class NonSaturating(AdversarialLoss):
    """BCE on logits (Goodfellow et al.): D minimises -t log D(x) - (1 - t) log(1 - D(x)); G minimises -log D(G(z))."""
    name = "nonsaturating"
    readout = PROBABILITY

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        return (F.binary_cross_entropy_with_logits(real_logits.float(), real_targets.float())
                + F.binary_cross_entropy_with_logits(fake_logits.float(), fake_targets.float()))

    def g_loss(self, fake_logits):
        return F.softplus(-fake_logits.float()).mean()


class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye; Miyato et al.): D minimises relu(1 - s D(x)) with s = +1 for a real target,
    -1 for a generated one; G minimises -D(G(z)). Targets are read as real (> 0.5) or not."""
    name = "hinge"
    readout = HINGE_LOGIT
    supports_smoothing = False

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        def term(logits, targets):
            sign = torch.where(targets > 0.5, 1.0, -1.0)
            return F.relu(1 - sign * logits.float()).mean()
        return term(real_logits, real_targets) + term(fake_logits, fake_targets)

    def g_loss(self, fake_logits):
        return -fake_logits.float().mean()


LOSSES: dict[str, AdversarialLoss] = {cls.name: cls() for cls in (NonSaturating, Hinge)}


def get_loss(name: str) -> AdversarialLoss:
    """The adversarial loss called ``name``; KeyError names the known ones."""
    if name not in LOSSES:
        raise KeyError(f"unknown loss {name!r}: use one of {', '.join(LOSSES)}")
    return LOSSES[name]


def pixel_mse(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel; images in [-1, 1]."""
    return F.mse_loss(fake.float(), real.float())


def roc_auc(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Area under the ROC curve of a score separating ``real`` (N,) from ``fake`` (M,): the chance that
    a random real image scores above a random generated one (ties count half). 0.5: D cannot tell
    them apart; 1: it separates them perfectly; below 0.5: it ranks fakes above reals."""
    r, f = real.double().flatten(), fake.double().flatten()
    if r.numel() == 0 or f.numel() == 0:
        return math.nan
    both = torch.cat([r, f])
    order = both.argsort()
    ranks = torch.empty_like(both)
    ranks[order] = torch.arange(1, len(both) + 1, dtype=both.dtype)
    sorted_vals = both[order]                         # average ranks over ties
    _, inverse, counts = torch.unique_consecutive(sorted_vals, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks[order] = mean_rank[inverse]
    u = ranks[:len(r)].sum() - len(r) * (len(r) + 1) / 2
    return float(u / (len(r) * len(f)))
