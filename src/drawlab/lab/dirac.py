"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually
converge?"): the smallest GAN there is, and why unregularised GAN training need not converge.

The data is one point, x = 0; G has one parameter theta and generates x = theta; D has one parameter psi
and scores D(x) = psi * x. The equilibrium is theta = psi = 0. Under a loss f, the game is
L(theta, psi) = f(psi * theta) + f(0): its gradient field turns around the equilibrium, so gradient
descent circles it (alternating updates) or spirals out (simultaneous updates), never reaching it. R1,
gamma / 2 * ||grad_x D(x = 0)||^2 = gamma / 2 * psi^2, adds a pull towards psi = 0 that damps the
spiral into the equilibrium. The losses and penalties are drawlab's own (``losses.Objective``), on
1-pixel "images".
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch

from ..config import Range
from ..errors import ConfigError
from ..losses import LOSSES, R1, GradientPenalty, Images, Objective, Penalty
from .view import finite


class Update(Enum):
    """Simultaneous gradient steps (both from the same point) or alternating ones (D first, then G)."""

    SIMULTANEOUS = "simultaneous"
    ALTERNATING = "alternating"


MAX_DIRAC_STEPS = 2000  # steps of a Dirac-GAN path the page asks for (each a pair of gradients: ~1 ms)


@dataclass(frozen=True)
class DiracSettings:
    """One Dirac-GAN run: the loss, learning rate, number of steps, R1 weight, gradient-penalty weight,
    starting point and update rule."""

    loss: str = "nonsaturating"
    lr: float = 0.1
    steps: int = 500
    r1: float = 0.0
    gp: float = 0.0
    theta: float = 1.0
    psi: float = 1.0
    update: Update = Update.SIMULTANEOUS

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "update": self.update.value}

    def check(self) -> DiracSettings:
        if self.loss not in LOSSES:
            raise ConfigError(f"--loss {self.loss!r} is not known: use one of {', '.join(LOSSES)}")
        for name, rng in (("lr", Range(0, 10, lo_open=True)), ("steps", Range(1, 10**6, integer=True))):
            why = rng.problem(getattr(self, name))
            if why:
                raise ConfigError(f"--{name} {why}")
        for name in ("r1", "gp"):
            why = Range(0, 1e4).problem(getattr(self, name))
            if why:
                raise ConfigError(f"--{name} {why}")
        for name in ("theta", "psi"):  # the starting point: finite and on the plane the pictures show
            why = Range(-100, 100).problem(getattr(self, name))
            if why:
                raise ConfigError(f"{name} {why}")
        return self


def _objective(s: DiracSettings) -> Objective:
    penalties: list[Penalty] = []
    weight = s.gp if s.gp > 0 or LOSSES[s.loss].needs_penalty is None else 10.0
    if weight > 0:
        penalties.append(GradientPenalty(weight))
    if s.r1 > 0:
        penalties.append(R1(s.r1, every=1))
    return Objective(LOSSES[s.loss], penalties)


def gradients(s: DiracSettings, theta: float, psi: float) -> tuple[float, float]:
    """(dL_G/dtheta, dL_D/dpsi) at (theta, psi): what one gradient step of each player follows."""
    obj = _objective(s)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    p = torch.tensor(psi, dtype=torch.float64, requires_grad=True)

    def d(x: Images, y: torch.Tensor | None = None) -> torch.Tensor:
        assert isinstance(x, torch.Tensor)
        return p * x.flatten(1).sum(1)

    real = torch.zeros(1, 1, 1, 1, dtype=torch.float64)
    fake = t.reshape(1, 1, 1, 1)
    one, zero = torch.ones(1), torch.zeros(1)
    loss_d, _, _ = obj.d_main(d, real, fake.detach(), None, one, zero)
    reg = obj.d_reg(d, real, fake.detach(), None, torch.Generator().manual_seed(0), 0)
    (gp,) = torch.autograd.grad(loss_d if reg is None else loss_d + reg, [p])
    (gt,) = torch.autograd.grad(obj.g_main(d, fake, real, None), [t])
    return float(gt), float(gp)


def trajectory(s: DiracSettings) -> torch.Tensor:
    """The path of (theta, psi) over ``s.steps`` steps of gradient descent: (steps + 1, 2), float64."""
    s.check()
    theta, psi = s.theta, s.psi
    path = [(theta, psi)]
    for _ in range(s.steps):
        if s.update is Update.SIMULTANEOUS:
            gt, gp = gradients(s, theta, psi)
            theta, psi = theta - s.lr * gt, psi - s.lr * gp
        else:
            _, gp = gradients(s, theta, psi)
            psi = psi - s.lr * gp
            gt, _ = gradients(s, theta, psi)
            theta = theta - s.lr * gt
        if not (math.isfinite(theta) and math.isfinite(psi)):
            break
        path.append((theta, psi))
    return torch.tensor(path, dtype=torch.float64)


def field(s: DiracSettings, res: int = 15, lim: float = 2.0) -> torch.Tensor:
    """The update direction -(dtheta, dpsi) on a res x res grid over [-lim, lim]^2: (res, res, 4) rows of
    (theta, psi, -dL_G/dtheta, -dL_D/dpsi), row 0 at the bottom."""
    c = torch.linspace(-lim, lim, res, dtype=torch.float64)
    out = torch.zeros(res, res, 4, dtype=torch.float64)
    for i, psi in enumerate(c.tolist()):
        for j, theta in enumerate(c.tolist()):
            gt, gp = gradients(s, theta, psi)
            out[i, j] = torch.tensor([theta, psi, -gt, -gp])
    return out


def turns(path: torch.Tensor) -> float:
    """How many times the path went around the equilibrium (unwrapped angle / 2 pi)."""
    a = torch.atan2(path[:, 1], path[:, 0])
    d = torch.diff(a)
    d = (d + math.pi) % (2 * math.pi) - math.pi
    return float(d.sum().abs() / (2 * math.pi))


def verdict(path: torch.Tensor) -> str:
    """In words: does the path converge to the equilibrium, circle it, or spiral out?"""
    r = path.norm(dim=1)
    start, end, k = float(r[0]), float(r[-1]), turns(path)
    if end < 0.1 * start:
        return f"converges: the distance to the equilibrium fell from {start:.2f} to {end:.3f} ({k:.1f} turns)"
    if end > 1.1 * start:
        return f"spirals out: the distance to the equilibrium grew from {start:.2f} to {end:.2f} in {k:.1f} turns"
    return (
        f"oscillates: {k:.1f} turns around the equilibrium without reaching it "
        f"(distance {start:.2f} at the start, {end:.2f} at the end)"
    )


def dirac_view(q: dict[str, str]) -> dict[str, Any]:
    """The Dirac-GAN for the lab's page: ``q`` holds any of DiracSettings' fields (the defaults, lesson
    ``dirac``'s, otherwise);
    returns its settings, its path (T, 2) of (theta, psi), its field (res, res, 4) and the verdict.
    ConfigError (a 400 with one line) for a bad value."""
    base = DiracSettings()
    kinds = {"loss": str, "lr": float, "steps": int, "r1": float, "gp": float, "theta": float, "psi": float}
    words = {str: "a name", float: "a number", int: "a whole number"}
    changes: dict[str, Any] = {}
    for k, v in q.items():
        if k in kinds:
            try:
                changes[k] = kinds[k](v)
            except ValueError:
                raise ConfigError(f"dirac: {k} must be {words[kinds[k]]}, got {v!r}") from None
        elif k == "update":
            try:
                changes[k] = Update(v)
            except ValueError:
                raise ConfigError(f"dirac: update must be one of {', '.join(u.value for u in Update)}") from None
    s = dataclasses.replace(base, **changes).check()
    if s.steps > MAX_DIRAC_STEPS:
        raise ConfigError(f"dirac: steps must be at most {MAX_DIRAC_STEPS} on the page")
    return _dirac_answer(s)


@functools.lru_cache(maxsize=64)
def _dirac_answer(s: DiracSettings) -> dict[str, Any]:
    """``dirac_view``'s answer for ``s``, computed once per settings (viewers ask for the same few); NaN or
    infinity (a path that runs off) as None, since JSON has neither."""
    path = trajectory(s)
    return finite(
        {
            "settings": s.to_json(),
            "path": torch.round(path, decimals=4).tolist(),
            "field": torch.round(field(s), decimals=4).tolist(),
            "verdict": verdict(path),
        }
    )
