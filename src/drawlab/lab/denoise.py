"""Flow matching and diffusion on 2D points: a denoiser learns a field that carries noise to the data.

The objectives and samplers are the image families' own (``models.schedules``: ``flow_pair``/``flow_sample``,
``ddpm_pair``/``ddpm_target``/``ddpm_sample``; not a copy). Points are divided by the data's ``extent`` so
they lie in [-1, 1]^2, where the image samplers expect data (DDIM clips its data estimate there):

    flow:  x_t = (1 - t) x0 + t x1 (x0 noise, x1 data, t ~ U(0, 1)), net(x_t, t) regresses v = x1 - x0;
           drawn by Euler steps of dx/dt = v from t = 0 to 1 (``sample_steps``)
    ddpm:  x_s = sqrt(abar_s) x1 + sqrt(1 - abar_s) eps (cosine schedule, T = 1000), net regresses
           v = sqrt(abar_s) eps - sqrt(1 - abar_s) x1; drawn by DDIM over ``sample_steps`` trailing steps

The network is G's MLP with the time as 16 Fourier features beside the point. One step is one update
(``sub_step`` returns "V"). What the page draws instead of D: the field at five moments of the path
(``vectors``: flow's velocity, or ddpm's direction to its data estimate), and particles carried from
noise to data (``paths``); G's manifold is the noise grid carried by the sampler.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..losses import Readout
from ..models import schedules
from .dists import Dist
from .game import Lab
from .settings import Family, Settings
from .updates import mlp, noise_of

TIME_FEATURES = 16  # sin/cos of t at 8 frequencies
MOMENTS = (0.0, 0.25, 0.5, 0.75, 0.95)  # where on the path from noise (0) to data (1) the field is drawn
ABAR = schedules.alpha_bars("cosine")


class TimeMLP(nn.Module):
    """net(x (B, 2), t (B,) in [0, 1]) -> (B, 2): an MLP on the point and Fourier features of t."""

    freqs: torch.Tensor

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(TIME_FEATURES // 2), persistent=False)
        self.net = mlp(2 + TIME_FEATURES, 2, width, depth)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = t.view(-1, 1).to(x.dtype) * self.freqs
        return self.net(torch.cat([x, a.sin(), a.cos()], 1))


class Denoiser(Lab):
    """A 2D run of ``model = flow`` or ``ddpm``: the same steps, evaluations, rewind and fork as the GAN."""

    def _networks(self) -> tuple[nn.Module, nn.Module | None]:
        return TimeMLP(self.s.g_width, self.s.g_depth), None

    def _objective(self) -> None:
        """Nothing to assemble: the objective is the regression below."""

    @property
    def readout(self) -> Readout | None:
        return None

    @property
    def scale(self) -> float:
        """Points are divided by this to lie in [-1, 1]^2 (the data's half-width)."""
        return self.dist.extent

    def sub_step(self) -> str:
        """One update of the denoiser on a fresh batch (the whole step)."""
        self._apply_schedule()
        s = self.s
        x1 = self.dist.sample(s.batch, self.gen) / self.scale
        x0 = noise_of(s.noise, s.batch, 2, self.gen)
        if s.model is Family.FLOW:
            t = torch.rand(s.batch, generator=self.gen)
            inp, target = schedules.flow_pair(x1, x0, t)
        else:
            k = torch.randint(0, schedules.T_STEPS, (s.batch,), generator=self.gen)
            inp, t = schedules.ddpm_pair(x1, x0, k, ABAR)
            target = schedules.ddpm_target(x1, x0, k, ABAR, "v")
        loss = (self.g(inp, t) - target).pow(2).sum(1).mean()
        self.update_g(loss)
        self._last = (math.nan, float(loss.detach()))
        self._end_step()
        return "V"

    # -- what is seen ----------------------------------------------------------------------------------
    @torch.no_grad()
    def carry(self, z: torch.Tensor, keep: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Noise ``z`` (N, 2) carried to points (N, 2) by the sampler in ``sample_steps``; ``keep`` collects
        the state after each step (world coordinates)."""
        net, s = self.sampler, self.s

        def seen(i: int, t: float, x: torch.Tensor) -> None:
            if keep is not None:
                keep.append(x * self.scale)

        if keep is not None:
            keep.append(z * self.scale)
        if s.model is Family.FLOW:
            out = schedules.flow_sample(net, z, s.sample_steps, "euler", seen)
        else:
            out = schedules.ddpm_sample(net, z, s.sample_steps, ABAR, "ddim", None, seen, "v")
        return out * self.scale

    def samples(self, z: torch.Tensor | None = None) -> torch.Tensor:
        return self.carry(self.eval_z if z is None else z)

    def readings(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """No D to read: empty readings and no gradient arrows on the points."""
        return torch.empty(0), torch.empty(0), torch.zeros(0, 2)

    @torch.no_grad()
    def field(self, res: int = 48) -> torch.Tensor:
        """The field's speed at the middle of the path (res, res), row 0 at the top."""
        _, arrows = self.vectors(res)[2]
        return arrows.norm(dim=1).reshape(res, res)

    @torch.no_grad()
    def vectors(self, n: int = 15) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """At each of ``MOMENTS``: an n x n grid of points (n*n, 2), row 0 at the top, and the field there
        (n*n, 2) in world units per unit of the path: flow's velocity, or ddpm's step towards its estimate
        of the data (x0^ - x)."""
        e = self.dist.extent
        xs = torch.linspace(-e, e, n)
        yy, xx = torch.meshgrid(xs.flip(0), xs, indexing="ij")
        pts = torch.stack([xx.flatten(), yy.flatten()], 1)
        x = pts / self.scale
        out = []
        for m in MOMENTS:
            if self.s.model is Family.FLOW:
                v = self.sampler(x, torch.full((len(x),), m))
            else:
                k = min(schedules.T_STEPS - 1, int(round((1 - m) * (schedules.T_STEPS - 1))))
                a = float(ABAR[k])
                x0, _ = schedules.split_prediction(
                    self.sampler(x, torch.full((len(x),), k / schedules.T_STEPS)), x, a, "v"
                )
                v = x0 - x
            out.append((pts, v * self.scale))
        return out

    @torch.no_grad()
    def paths(self, n: int = 60, most: int = 21) -> torch.Tensor:
        """``n`` particles of the fixed noise carried to the data: (n, k, 2) with k <= ``most`` states from
        noise to the end (every step when there are few)."""
        keep: list[torch.Tensor] = []
        self.carry(self.eval_z[:n], keep)
        idx = sorted({round(i * (len(keep) - 1) / (most - 1)) for i in range(most)}) if len(keep) > most else None
        states = [keep[i] for i in idx] if idx is not None else keep
        return torch.stack(states, 1)

    @torch.no_grad()
    def manifold(self, n: int = 17) -> torch.Tensor:
        """The noise grid carried by the sampler: (n, n, 2), the cells the transport warps."""
        c = torch.linspace(-2.0, 2.0, n)
        return self.carry(torch.cartesian_prod(c, c)).reshape(n, n, 2)


def new_lab(s: Settings, dist: Dist | None = None) -> Lab:
    """The run for settings ``s``: a GAN (``Lab``) or a denoiser (``Denoiser``) by ``s.model``."""
    return Lab(s, dist) if s.model is Family.GAN else Denoiser(s, dist)
