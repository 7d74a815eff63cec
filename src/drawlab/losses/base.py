"""What every loss file shares: D's output scales and readouts, the adversarial loss and penalty base
classes with their registries, the phases of a step's loss (``Objective``) and the pixel losses.

Discriminators output raw logits (never a sigmoid). An adversarial loss is an object: its D and G terms,
and how D's output is to be read under it (``Readout``): a probability for the non-saturating loss, a raw
score with margins for hinge, a least-squares score, a critic's score. Monitors, the watchdog, the words
in the log and the report take their ranges, names and words from the readout, so "D(x) = 0.95" is only
ever said where D(x) is a probability.

``Objective`` is the loss of one run as phases, in the manner of stylegan2-ada's
``loss.accumulate_gradients``: ``Phase.D_MAIN`` (D's loss on real and generated images),
``Phase.D_REG`` (a gradient penalty or R1, possibly lazy) and ``Phase.G_MAIN`` (G's loss through D,
which for relativistic losses also reads D's output on real images). A family's step calls the
phases; a new loss or regulariser is one file in this package, not a copy of the step.

This is the bottom floor: it imports torch, ``rng`` and ``errors`` only (the config is a type hint).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # a type hint only: losses never import the config at run time
    from ..config import ModelConfig


class Scale(Enum):
    """What D's output values are: a probability, or the raw logit read as a score."""

    PROBABILITY = "probability"  # sigmoid(logit) in [0, 1]: D's belief that the input is real
    LOGIT = "logit"  # an unbounded score: higher = more real


D_WINS = "D wins outright: G gets almost no useful signal (try a smaller D, instance noise or label flips)"


@dataclass(frozen=True)
class Readout:
    """How to read D's output under a loss: the values histogrammed and logged, their range, names and words.

    ``name``: the readout's identity (e.g. "hinge"); ``lo``/``hi``: the range of D's histograms;
    ``keys``: the metrics.jsonl names of the mean on real and generated images; ``names``: how the log
    and the report call them; ``won``: the bounds beyond which D wins outright (real above the first,
    generated below the second); ``axis``: the label of a plot axis of these values; ``lines``: values
    the plots mark (the hinge margins, the least-squares targets, 0.5 for a probability); ``won_words``:
    the watchdog's words for being past ``won`` on this scale.
    Subclasses say in ``reading`` what a pair of means means (see ``explain``).
    """

    name: str
    scale: Scale
    lo: float
    hi: float
    keys: tuple[str, str]
    names: tuple[str, str]
    won: tuple[float, float]
    meaning: str
    axis: str
    lines: tuple[float, ...] = field(default=())
    won_words: str = ""  # what being past ``won`` means on this scale, e.g. "past the hinge margins"

    def values(self, logits: torch.Tensor) -> torch.Tensor:
        """D's logits (N,) -> the values on this scale (N,), float32."""
        x = logits.detach().float()
        return torch.sigmoid(x) if self.scale is Scale.PROBABILITY else x

    def wins(self, real: float, fake: float) -> bool:
        """Whether means ``real`` and ``fake`` on this scale say D separates them outright."""
        return real > self.won[0] and fake < self.won[1]

    def explain(self, real: float | None, fake: float | None) -> str:
        """A short reading of D's mean output on real (``real``) and generated (``fake``) images on this
        scale; "" when either is unknown."""
        if real is None or fake is None:
            return ""
        if self.wins(real, fake):
            return D_WINS
        return self.reading(real, fake)

    def reading(self, real: float, fake: float) -> str:
        """What the means say when D has not won outright (each readout's own words)."""
        raise NotImplementedError


class ProbabilityReadout(Readout):
    """D's output through a sigmoid: its probability that an image is real."""

    def reading(self, real: float, fake: float) -> str:
        gap = real - fake
        if gap > 0.5:
            return "D separates real from fake easily; G is behind"
        if gap < -0.1:
            return "D rates fakes above reals: it is being fooled or oscillating"
        if abs(gap) < 0.1 and 0.35 < real < 0.65:
            return "balanced: D can barely tell real from fake"
        return "healthy contest: D leads a little, as usual"


class HingeReadout(Readout):
    """D's raw score under a hinge loss, pushed beyond +1 on real and -1 on generated images."""

    def reading(self, real: float, fake: float) -> str:
        gap = real - fake
        if gap > 2:
            return "D separates real from fake easily (scores far apart); G is behind"
        if gap < -0.2:
            return "D scores fakes above reals: it is being fooled or oscillating"
        if abs(gap) < 0.2:
            return "balanced: D's scores on real and generated images are close"
        return "healthy contest: D scores real images a little higher, as usual"


PROBABILITY = ProbabilityReadout(
    name="probability",
    scale=Scale.PROBABILITY,
    lo=0.0,
    hi=1.0,
    keys=("d_real", "d_fake"),
    names=("D(x)", "D(G(z))"),
    won=(0.95, 0.05),
    meaning="D's probability that an image is real, in [0, 1]",
    axis="D(x): probability of 'real'",
    lines=(0.5,),
)
HINGE_LOGIT = HingeReadout(
    name="hinge",
    scale=Scale.LOGIT,
    lo=-4.0,
    hi=4.0,
    keys=("logit_real", "logit_fake"),
    names=("D's score on real", "D's score on fakes"),
    won=(1.0, -1.0),
    meaning="D's raw score (logit), unbounded; the hinge loss stops pushing beyond +1 on real and -1 on generated images",
    axis="D's score (logit)",
    lines=(-1.0, 1.0),
    won_words="past the hinge margins",
)


def signs(targets: torch.Tensor) -> torch.Tensor:
    """+1 where a target says real (> 0.5), -1 where it says generated."""
    return torch.where(targets > 0.5, 1.0, -1.0).to(targets.device)


# -- adversarial losses (Phase.D_MAIN, Phase.G_MAIN) ---------------------------------------------------
class AdversarialLoss:
    """An adversarial loss: ``d_loss`` and ``g_loss`` on D's logits, and the ``readout`` of D's output.

    Targets are per-image floats: 1 = real, 0 = generated (label smoothing and flips change them).
    ``relativistic`` losses compare each image with the other kind, so G's loss reads real logits too.
    A loss file defines a subclass and decorates it with ``@register_loss``; ``order`` places it in
    ``LOSSES`` (and so in the CLI's choices), ties broken by name.
    """

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `--loss`'s help
    readout: ClassVar[Readout]
    order: ClassVar[int] = 100
    supports_smoothing: ClassVar[bool] = True
    relativistic: ClassVar[bool] = False
    needs_penalty: ClassVar[str | None] = None  # the D_REG option this loss is defined with (WGAN-GP: gp_weight)

    def d_loss(
        self,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        """D's loss (a scalar) on its logits (B,) for real and generated images and their targets (B,)."""
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """G's loss (a scalar) on D's logits (B,) for generated images (and real ones, if relativistic)."""
        raise NotImplementedError


LOSSES: dict[str, AdversarialLoss] = {}  # name -> loss, in ``order`` once the package is imported
L = TypeVar("L", bound=type[AdversarialLoss])


def register_loss(cls: L) -> L:
    """Class decorator: add one instance of the loss ``cls`` to ``LOSSES`` under ``cls.name``."""
    if cls.name in LOSSES:
        raise ValueError(f"two losses are called {cls.name!r}")
    LOSSES[cls.name] = cls()
    return cls


def get_loss(name: str) -> AdversarialLoss:
    """The adversarial loss called ``name``; KeyError names the known ones."""
    if name not in LOSSES:
        raise KeyError(f"unknown loss {name!r}: use one of {', '.join(LOSSES)}")
    return LOSSES[name]


# -- D's regularisers (Phase.D_REG) --------------------------------------------------------------------
Images = torch.Tensor | list[torch.Tensor]  # a batch (B, C, H, W), or a pyramid of them (MSG-GAN), coarse to fine
Critic = Callable[[Images, torch.Tensor | None], torch.Tensor]  # D(images, labels) -> logits (B,)


def input_grad_norm2(d: Critic, x: Images, y: torch.Tensor | None) -> torch.Tensor:
    """||d D(x) / d x||^2 per image (B,), with the graph kept so the penalty trains D. For a pyramid of
    images (MSG-GAN) the gradient is taken w.r.t. every scale D reads, and the norm is over all of them."""
    xs = [t.detach().requires_grad_(True) for t in (x if isinstance(x, (list, tuple)) else [x])]
    grads = torch.autograd.grad(
        d(xs if isinstance(x, (list, tuple)) else xs[0], y).float().sum(), xs, create_graph=True
    )
    norms = [g.float().pow(2).flatten(1).sum(1) for g in grads]
    total = norms[0]
    for n in norms[1:]:
        total = total + n
    return total


def mix(real: Images, fake: Images, eps: torch.Tensor) -> Images:
    """eps * real + (1 - eps) * fake, detached, per image (and alike at every scale of a pyramid)."""
    if isinstance(real, (list, tuple)):
        return [eps * r.detach() + (1 - eps) * f.detach() for r, f in zip(real, fake)]
    assert isinstance(fake, torch.Tensor)
    return eps * real.detach() + (1 - eps) * fake.detach()


class Penalty:
    """A D regulariser, applied every ``every`` steps with its weight multiplied by ``every`` (lazy
    regularisation, Karras et al. 2020), so its average strength does not depend on ``every``.

    A penalty file defines a subclass with ``from_config`` and decorates it with ``@register_penalty``;
    ``order`` places it in ``PENALTIES`` (the order of ``penalties_for``), ties broken by name.
    """

    every: int = 1
    order: ClassVar[int] = 100
    turned_on_by: ClassVar[dict[str, Any]] = {}  # ModelConfig fields that turn it on (docs, conformance test)

    def due(self, step: int) -> bool:
        return step % self.every == 0

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> Penalty | None:
        """The penalty the model config asks for, or None when it is off."""
        raise NotImplementedError

    def __call__(
        self, d: Critic, real: Images, fake: Images, y: torch.Tensor | None, gen: torch.Generator
    ) -> torch.Tensor:
        """The penalty (a scalar, with a graph to D's weights) for D on this batch."""
        raise NotImplementedError


PENALTIES: list[type[Penalty]] = []  # in ``order`` once the package is imported
P = TypeVar("P", bound=type[Penalty])


def register_penalty(cls: P) -> P:
    """Class decorator: add the penalty class ``cls`` to ``PENALTIES``."""
    PENALTIES.append(cls)
    return cls


def penalties_for(cfg: ModelConfig) -> list[Penalty]:
    """Every registered penalty the model config turns on, in registry order."""
    made = [cls.from_config(cfg) for cls in PENALTIES]
    return [p for p in made if p is not None]


class Phase(Enum):
    """The phases of one training step's loss."""

    D_MAIN = "d_main"
    D_REG = "d_reg"
    G_MAIN = "g_main"


class Objective:
    """One run's adversarial loss as phases (see the module docstring): the loss and D's regularisers.

    Inputs are what D sees (already swapped, noised or augmented by the family); logits come from ``d``.
    """

    def __init__(self, loss: AdversarialLoss, penalties: list[Penalty]):
        self.loss, self.penalties = loss, penalties

    def d_main(
        self,
        d: Critic,
        real: Images,
        fake: Images,
        y: torch.Tensor | None,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Phase.D_MAIN: (loss, real logits (B,), generated logits (B,))."""
        real_logits, fake_logits = d(real, y), d(fake, y)
        return self.loss.d_loss(real_logits, fake_logits, real_targets, fake_targets), real_logits, fake_logits

    def d_reg(
        self, d: Critic, real: Images, fake: Images, y: torch.Tensor | None, gen: torch.Generator, step: int
    ) -> torch.Tensor | None:
        """Phase.D_REG: the sum of the penalties due at ``step``, or None when none is."""
        terms = [p(d, real, fake, y, gen) for p in self.penalties if p.due(step)]
        return sum(terms[1:], terms[0]) if terms else None

    def g_main(self, d: Critic, fake: Images, real: Images | None, y: torch.Tensor | None) -> torch.Tensor:
        """Phase.G_MAIN: G's loss (relativistic losses also read D on ``real``, without training D)."""
        real_logits = d(real, y).detach() if self.loss.relativistic and real is not None else None
        return self.loss.g_loss(d(fake, y), real_logits)


# -- pixel losses and D's separation -------------------------------------------------------------------
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
    sorted_vals = both[order]  # average ranks over ties
    _, inverse, counts = torch.unique_consecutive(sorted_vals, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks[order] = mean_rank[inverse]
    u = ranks[: len(r)].sum() - len(r) * (len(r) + 1) / 2
    return float(u / (len(r) * len(f)))
