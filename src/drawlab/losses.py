"""GAN and reconstruction losses. Discriminators output raw logits (never a sigmoid).

An adversarial loss is an object: its D and G terms, and how D's output is to be read under it
(``Readout``): a probability for the non-saturating loss, a raw score with margins for hinge.
Monitors, the watchdog and the words in the log take their ranges and names from the readout, so
"D(x) = 0.95" is only ever said where D(x) is a probability.

``Objective`` is the loss of one run as phases, in the manner of stylegan2-ada's
``loss.accumulate_gradients``: ``Phase.D_MAIN`` (D's loss on real and generated images),
``Phase.D_REG`` (a gradient penalty or R1, possibly lazy) and ``Phase.G_MAIN`` (G's loss through D,
which for relativistic losses also reads D's output on real images). A family's step calls the
phases; a new loss or regulariser is a class here, not a copy of the step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import torch
import torch.nn.functional as F

from . import rng


class Scale(Enum):
    """What D's output means under a loss."""

    PROBABILITY = "probability"  # sigmoid(logit) in [0, 1]: D's belief that the input is real
    LOGIT = "logit"  # an unbounded score: higher = more real


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


PROBABILITY = Readout(
    Scale.PROBABILITY,
    0.0,
    1.0,
    ("d_real", "d_fake"),
    ("D(x)", "D(G(z))"),
    (0.95, 0.05),
    "D's probability that an image is real, in [0, 1]",
)
HINGE_LOGIT = Readout(
    Scale.LOGIT,
    -4.0,
    4.0,
    ("logit_real", "logit_fake"),
    ("D's score on real", "D's score on fakes"),
    (1.0, -1.0),
    "D's raw score (logit), unbounded; the hinge loss stops pushing beyond +1 on real and -1 on generated images",
)


LS_SCORE = Readout(
    Scale.LOGIT,
    -1.0,
    2.0,
    ("score_real", "score_fake"),
    ("D's score on real", "D's score on fakes"),
    (0.9, 0.1),
    "D's least-squares score, pushed towards 1 on real and 0 on generated images",
)
CRITIC = Readout(
    Scale.LOGIT,
    -20.0,
    20.0,
    ("critic_real", "critic_fake"),
    ("critic on real", "critic on fakes"),
    (math.inf, -math.inf),
    "the critic's unbounded score (WGAN): only the gap between real and "
    "generated means something, an estimate of the Wasserstein distance",
)


def _signs(targets: torch.Tensor) -> torch.Tensor:
    """+1 where a target says real (> 0.5), -1 where it says generated."""
    return torch.where(targets > 0.5, 1.0, -1.0).to(targets.device)


class AdversarialLoss:
    """An adversarial loss: ``d_loss`` and ``g_loss`` on D's logits, and the ``readout`` of D's output.

    Targets are per-image floats: 1 = real, 0 = generated (label smoothing and flips change them).
    ``relativistic`` losses compare each image with the other kind, so G's loss reads real logits too.
    """

    name: ClassVar[str]
    readout: ClassVar[Readout]
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
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError


class NonSaturating(AdversarialLoss):
    """BCE on logits (Goodfellow et al.): D minimises -t log D(x) - (1 - t) log(1 - D(x)); G minimises -log D(G(z))."""

    name = "nonsaturating"
    readout = PROBABILITY

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        return F.binary_cross_entropy_with_logits(
            real_logits.float(), real_targets.float()
        ) + F.binary_cross_entropy_with_logits(fake_logits.float(), fake_targets.float())

    def g_loss(self, fake_logits, real_logits=None):
        return F.softplus(-fake_logits.float()).mean()


class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye; Miyato et al.): D minimises relu(1 - s D(x)) with s = +1 for a real target,
    -1 for a generated one; G minimises -D(G(z)). Targets are read as real (> 0.5) or not."""

    name = "hinge"
    readout = HINGE_LOGIT
    supports_smoothing = False

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        def term(logits, targets):
            return F.relu(1 - _signs(targets) * logits.float()).mean()

        return term(real_logits, real_targets) + term(fake_logits, fake_targets)

    def g_loss(self, fake_logits, real_logits=None):
        return -fake_logits.float().mean()


class LeastSquares(AdversarialLoss):
    """LSGAN (Mao et al. 2017, the 0-1 coding): D minimises (D(x) - t)^2 / 2 towards its target t (1 real,
    0 generated; smoothing and flips change t); G minimises (D(G(z)) - 1)^2 / 2."""

    name = "lsgan"
    readout = LS_SCORE

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        return (
            0.5 * ((real_logits.float() - real_targets.float()) ** 2).mean()
            + 0.5 * ((fake_logits.float() - fake_targets.float()) ** 2).mean()
        )

    def g_loss(self, fake_logits, real_logits=None):
        return 0.5 * ((fake_logits.float() - 1) ** 2).mean()


class Wasserstein(AdversarialLoss):
    """WGAN-GP (Gulrajani et al. 2017): the critic minimises D(G(z)) - D(x) (sign by target), G minimises
    -D(G(z)); defined together with the gradient penalty (``--gp-weight``), n-critic via ``--d-steps``."""

    name = "wgan-gp"
    readout = CRITIC
    supports_smoothing = False
    needs_penalty = "gp_weight"

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        return (
            -(_signs(real_targets) * real_logits.float()).mean() - (_signs(fake_targets) * fake_logits.float()).mean()
        )

    def g_loss(self, fake_logits, real_logits=None):
        return -fake_logits.float().mean()


class RelativisticHinge(AdversarialLoss):
    """Relativistic average hinge (Jolicoeur-Martineau 2019; MSG-GAN's default): each image's score is
    compared with the mean score of the other kind; D wants reals above fakes by a margin of 1, G the reverse."""

    name = "ra-hinge"
    readout = HINGE_LOGIT
    supports_smoothing = False
    relativistic = True

    def d_loss(self, real_logits, fake_logits, real_targets, fake_targets):
        r, f = real_logits.float(), fake_logits.float()
        return (
            F.relu(1 - _signs(real_targets) * (r - f.mean())).mean()
            + F.relu(1 - _signs(fake_targets) * (f - r.mean())).mean()
        )

    def g_loss(self, fake_logits, real_logits=None):
        if real_logits is None:
            raise ValueError("ra-hinge's G loss needs D's logits on real images")
        r, f = real_logits.float(), fake_logits.float()
        return F.relu(1 + (r - f.mean())).mean() + F.relu(1 - (f - r.mean())).mean()


LOSSES: dict[str, AdversarialLoss] = {
    cls.name: cls() for cls in (NonSaturating, Hinge, LeastSquares, Wasserstein, RelativisticHinge)
}


def get_loss(name: str) -> AdversarialLoss:
    """The adversarial loss called ``name``; KeyError names the known ones."""
    if name not in LOSSES:
        raise KeyError(f"unknown loss {name!r}: use one of {', '.join(LOSSES)}")
    return LOSSES[name]


# -- D's regularisers (Phase.D_REG) --------------------------------------------------------------------
Images = torch.Tensor | list[torch.Tensor]  # a batch (B, C, H, W), or a pyramid of them (MSG-GAN), coarse to fine
Critic = Callable[[Images, torch.Tensor | None], torch.Tensor]  # D(images, labels) -> logits (B,)


def _input_grad_norm2(d: Critic, x: Images, y: torch.Tensor | None) -> torch.Tensor:
    """||d D(x) / d x||^2 per image (B,), with the graph kept so the penalty trains D. For a pyramid of
    images (MSG-GAN) the gradient is taken w.r.t. every scale D reads, and the norm is over all of them."""
    xs = [t.detach().requires_grad_(True) for t in (x if isinstance(x, (list, tuple)) else [x])]
    grads = torch.autograd.grad(
        d(xs if isinstance(x, (list, tuple)) else xs[0], y).float().sum(), xs, create_graph=True
    )
    return sum(g.float().pow(2).flatten(1).sum(1) for g in grads)


def _mix(real: Images, fake: Images, eps: torch.Tensor) -> Images:
    """eps * real + (1 - eps) * fake, detached, per image (and alike at every scale of a pyramid)."""
    if isinstance(real, (list, tuple)):
        return [eps * r.detach() + (1 - eps) * f.detach() for r, f in zip(real, fake)]
    return eps * real.detach() + (1 - eps) * fake.detach()


class Penalty:
    """A D regulariser, applied every ``every`` steps with its weight multiplied by ``every`` (lazy
    regularisation, Karras et al. 2020), so its average strength does not depend on ``every``."""

    every: int = 1

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def __call__(
        self, d: Critic, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None, gen: torch.Generator
    ) -> torch.Tensor:
        raise NotImplementedError


@dataclass
class GradientPenalty(Penalty):
    """WGAN-GP: weight * (||grad D(x_hat)|| - 1)^2 at random points x_hat between real and generated images."""

    weight: float = 10.0
    every: int = 1

    def __call__(self, d, real, fake, y, gen):
        ref = real[-1] if isinstance(real, (list, tuple)) else real
        eps = rng.rand((ref.shape[0], 1, 1, 1), gen, ref.device, ref.dtype)
        x_hat = _mix(real, fake, eps)
        return self.weight * self.every * (_input_grad_norm2(d, x_hat, y).sqrt() - 1).pow(2).mean()


@dataclass
class R1(Penalty):
    """R1 (Mescheder et al. 2018): gamma / 2 * ||grad D(x)||^2 on real images."""

    gamma: float = 10.0
    every: int = 16

    def __call__(self, d, real, fake, y, gen):
        return 0.5 * self.gamma * self.every * _input_grad_norm2(d, real, y).mean()


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
        real: torch.Tensor,
        fake: torch.Tensor,
        y: torch.Tensor | None,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Phase.D_MAIN: (loss, real logits (B,), generated logits (B,))."""
        real_logits, fake_logits = d(real, y), d(fake, y)
        return self.loss.d_loss(real_logits, fake_logits, real_targets, fake_targets), real_logits, fake_logits

    def d_reg(
        self, d: Critic, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None, gen: torch.Generator, step: int
    ) -> torch.Tensor | None:
        """Phase.D_REG: the sum of the penalties due at ``step``, or None when none is."""
        terms = [p(d, real, fake, y, gen) for p in self.penalties if p.due(step)]
        return sum(terms[1:], terms[0]) if terms else None

    def g_main(self, d: Critic, fake: torch.Tensor, real: torch.Tensor | None, y: torch.Tensor | None) -> torch.Tensor:
        """Phase.G_MAIN: G's loss (relativistic losses also read D on ``real``, without training D)."""
        real_logits = d(real, y).detach() if self.loss.relativistic and real is not None else None
        return self.loss.g_loss(d(fake, y), real_logits)


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
