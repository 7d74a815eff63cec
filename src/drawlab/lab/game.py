"""The 2D lab's game: an MLP generator against an MLP discriminator on points in the plane, trained by
drawlab's own losses, penalties and tricks (``losses.Objective``, ``models.tricks``; not a copy), plus the
two remedies the mode-collapse papers compare on these benchmarks: unrolled D (Metz et al. 2017) and
packing (PacGAN, Lin et al. 2018).

Points reach D as packs: a batch (B, 2) becomes (B / m, 2m, 1, 1), i.e. "images" of one pixel with 2m
channels, so the image losses' per-image penalties (R1, the gradient penalty) apply unchanged. One step
is ``d_steps`` D updates, then ``g_steps`` G updates (``sub_step`` runs one of them, for the page's
slow motion). Every draw comes from the run's generator: the same settings give the same run.

The pieces of one update (the MLPs, packing, ``Pending``, D unrolled) are in ``updates``. ``Lab.state`` /
``Lab.restore`` hold a whole run (networks, optimisers, generator, history), which
rewind and fork use; ``Lab.view`` is what the page and the pictures draw.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..losses import LOSSES, R1, Critic, GradientPenalty, Images, Objective, Penalty, Readout
from ..models.tricks import add_noise, targets
from ..modes import evaluating
from .dists import Dist, get_dist
from .metrics import N_EVAL, nearest_modes, reached, scores, swing
from .settings import LIVE, Noise, Optim, Settings, replace
from .updates import Net, Pending, grad_norm, mlp, noise_of, pack, unrolled

KEEP = 120  # kept states for rewind; older ones are thinned out to every other one
VIEW_POINTS = 500  # points drawn on the page


SWING_STEPS = 1000  # steps over which an evaluation measures G's swing


@dataclass
class Record:
    """What one evaluation saw: the step, the scores, D's mean reading on real and generated points, the
    losses, the mean length of G's gradient on its points, which modes were captured (``covered``: by a
    point within 3 std) and which were reached (by 1% of the points, nearer than halfway to another mode);
    and how G's points swung as a whole over the last ``SWING_STEPS`` steps (at most half the run's)."""

    step: int
    metrics: dict[str, float]
    d_real: float
    d_fake: float
    loss_d: float
    loss_g: float
    g_grad: float
    covered: list[int] = field(default_factory=list)
    reached: list[int] = field(default_factory=list)
    swing: dict[str, float] = field(default_factory=dict)  # G's points moving as a whole (``metrics.swing``)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Lab:
    """One 2D run: build from settings (and a user's distribution for ``dist = "points"``), then ``step``."""

    def __init__(self, s: Settings, dist: Dist | None = None):
        self.s = s.check()
        self.start = s  # the settings the run began with (``recipe`` adds the live changes)
        if s.dist == "points" and dist is None:
            raise ValueError("a 'points' distribution needs its Dist")
        self.dist = dist or get_dist(s.dist)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s.seed)
            self.g, self.d = self._networks()
        self.g_ema = copy.deepcopy(self.g).requires_grad_(False) if s.ema > 0 else None
        self.opt_g = self._optimiser(self.g, s.lr_g)
        self.opt_d = self._optimiser(self.d, s.lr_d) if self.d is not None else None
        self.gen = torch.Generator().manual_seed(s.seed)
        fixed = torch.Generator().manual_seed(s.seed + 7919)  # what is drawn and scored, apart from training
        self.eval_z = noise_of(s.noise, N_EVAL, s.noise_dim, fixed)
        self.eval_real = self.dist.sample(N_EVAL, fixed)
        self.step_no = 0
        self.sub_no = 0  # D and G updates done within the current step (slow motion)
        self.pending: Pending | None = None  # an update computed to its gradients, not yet applied
        self.history: list[Record] = []
        self.curve: list[tuple[int, float, float]] = []  # (step, loss_d, loss_g) of every step
        self.centres: list[tuple[float, float]] = []  # the centre of the step's last generated batch, every step
        self._centre = (math.nan, math.nan)
        self.spread = float(self.eval_real.std(0).norm())  # the real data's, the unit of a swing
        self.kept: dict[int, dict[str, Any]] = {}
        self.applied = dict(s.schedule)
        self._last: tuple[float, float] = (math.nan, math.nan)
        self._objective()
        self.history.append(self.evaluate())
        self.keep()

    # -- the pieces ------------------------------------------------------------------------------------
    def _networks(self) -> tuple[nn.Module, nn.Module | None]:
        """G (noise -> point) and D (a pack of points -> a logit), drawn from the seeded global generator."""
        s = self.s
        return mlp(s.noise_dim, 2, s.g_width, s.g_depth), mlp(2 * s.pack, 1, s.d_width, s.d_depth, s.spectral_norm)

    @property
    def readout(self) -> Readout | None:
        """How D's outputs read (probability or score), for the page and the verdicts; None without a D."""
        return self.loss.readout

    def _optimiser(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.s.optimizer is Optim.ADAM:
            return torch.optim.Adam(net.parameters(), lr=lr, betas=(self.s.beta1, 0.999))
        return torch.optim.SGD(net.parameters(), lr=lr)

    def _objective(self) -> None:
        s = self.s
        penalties: list[Penalty] = []
        if s.penalty_weight() > 0:
            penalties.append(GradientPenalty(s.penalty_weight()))
        if s.r1 > 0:
            penalties.append(R1(s.r1, every=1))
        self.loss = LOSSES[s.loss]
        self.objective = Objective(self.loss, penalties)

    def critic(self, x: Images, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's logits (N,) for packs (N, 2m, 1, 1)."""
        assert isinstance(x, torch.Tensor) and self.d is not None
        return self.d(x).squeeze(1)

    @property
    def sampler(self) -> nn.Module:
        """The G that is drawn and scored: its EMA when on."""
        return self.g_ema if self.g_ema is not None else self.g

    def sigma(self) -> float:
        """Instance-noise std at this step (decaying linearly to 0 at the last step)."""
        return self.s.instance_noise * max(0.0, 1.0 - self.step_no / self.s.steps)

    def _targets(self, n: int, real: bool) -> torch.Tensor:
        return targets(n, real, self.s.smoothing, self.s.flip, self.gen, torch.device("cpu"))

    # -- updates ---------------------------------------------------------------------------------------
    def d_update(self) -> float:
        """One D update on a fresh batch; its loss."""
        p = self._d_backward()
        self._apply(p)
        return p.loss

    def _d_backward(self) -> Pending:
        """A D update up to its gradients (in D's ``.grad``): fresh real and generated batches, judged."""
        assert self.opt_d is not None and self.d is not None
        s, m = self.s, self.s.pack
        real = self.dist.sample(s.batch, self.gen)
        fake = self.g(noise_of(s.noise, s.batch, s.noise_dim, self.gen)).detach()
        rx, fx = pack(add_noise(real, self.sigma(), self.gen), m), pack(add_noise(fake, self.sigma(), self.gen), m)
        rt, ft = self._targets(len(rx), True), self._targets(len(fx), False)
        loss, rl, fl = self.objective.d_main(self.critic, rx, fx, None, rt, ft)
        reg = self.objective.d_reg(self.critic, rx, fx, None, self.gen, self.step_no)
        total = loss if reg is None else loss + reg
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        values = self.loss.readout.values
        return Pending(
            "D",
            self.sub_no,
            fake,
            real,
            values(fl.detach()),
            values(rl.detach()),
            float(loss.detach()),
            None,
            grad_norm(self.d),
        )

    def _unrolled(self) -> Critic:
        """D ``unroll`` updates ahead on fresh batches, as a function of G's weights (``updates.unrolled``)."""
        assert self.d is not None and self.opt_d is not None
        s, m = self.s, self.s.pack

        def batches() -> tuple[torch.Tensor, torch.Tensor]:
            real = self.dist.sample(s.batch, self.gen)
            return pack(real, m), pack(self.g(noise_of(s.noise, s.batch, s.noise_dim, self.gen)), m)

        return unrolled(self.d, self.opt_d, self.loss, s.unroll, batches)

    def g_update(self) -> float:
        """One G update on fresh noise (against D unrolled when ``unroll`` > 0); its loss."""
        p = self._g_backward()
        self._apply(p)
        return p.loss

    def _g_backward(self) -> Pending:
        """A G update up to its gradients (in G's ``.grad``); the generated batch with, on each point, minus
        the gradient of G's loss (where the update pushes it)."""
        s, m = self.s, self.s.pack
        critic = self._unrolled() if s.unroll > 0 else self.critic
        fake = self.g(noise_of(s.noise, s.batch, s.noise_dim, self.gen))
        fake.retain_grad()
        fx = pack(add_noise(fake, self.sigma(), self.gen), m)
        real = self.dist.sample(s.batch, self.gen) if self.loss.relativistic else None
        rx = pack(real, m) if real is not None else None
        loss = self.objective.g_main(critic, fx, rx, None)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        assert fake.grad is not None
        assert self.d is not None
        with torch.no_grad(), evaluating(self.d):  # a look, not a step: spectral norm's estimate stays put
            read = self.loss.readout.values(critic(fx, None))
            read_real = self.loss.readout.values(critic(rx, None)) if rx is not None else None
        arrows = -fake.grad * len(fake)  # per point, as ``readings`` draws them
        return Pending(
            "G",
            self.sub_no - s.d_steps,
            fake.detach(),
            real,
            read,
            read_real,
            float(loss.detach()),
            arrows,
            grad_norm(self.g),
        )

    def _apply(self, p: Pending) -> None:
        """The optimiser step of a computed update (G's EMA follows)."""
        if p.which == "D":
            assert self.opt_d is not None
            self.opt_d.step()
            return
        self.opt_g.step()
        self._ema()

    def update_g(self, loss: torch.Tensor) -> None:
        """One optimiser step of G on ``loss``, then its EMA (when on) moves towards it."""
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self._ema()

    def _ema(self) -> None:
        if self.g_ema is not None:
            with torch.no_grad():
                for pe, p in zip(self.g_ema.parameters(), self.g.parameters()):
                    pe.lerp_(p, 1 - self.s.ema)

    def sub_step(self) -> str:
        """One update of the current step: the next of its D updates, then of its G updates. Returns
        which it was ("D" or "G"); the step counts up after its last G update."""
        self.begin_update()
        return self.finish_update()

    def begin_update(self) -> Pending:
        """The next update of the current step, computed up to its gradients but not applied (the page's
        slow motion shows its phases in between); the one already begun, if any."""
        if self.pending is None:
            self._apply_schedule()
            self.pending = self._d_backward() if self.sub_no < self.s.d_steps else self._g_backward()
        return self.pending

    def finish_update(self) -> Net:
        """Apply the begun update (``begin_update``; begun now if none was); "D" or "G"."""
        p = self.begin_update()
        self.pending = None
        self._apply(p)
        self._last = (p.loss, self._last[1]) if p.which == "D" else (self._last[0], p.loss)
        if p.which == "G":
            cx, cy = p.fake.mean(0).tolist()
            self._centre = (cx, cy)
        self.sub_no += 1
        if self.sub_no >= self.s.d_steps + self.s.g_steps:
            self._end_step()
        return p.which

    def step(self, n: int = 1) -> None:
        """``n`` whole steps (a step begun by ``sub_step`` is finished first)."""
        for _ in range(n):
            while True:
                self.sub_step()
                if self.sub_no == 0:
                    break

    def _end_step(self) -> None:
        self.sub_no = 0
        self.step_no += 1
        self.curve.append((self.step_no, *self._last))
        self.centres.append(self._centre)
        if self.step_no % self.s.eval_every == 0:
            self.history.append(self.evaluate())
        if self.step_no % max(1, self.s.eval_every) == 0:
            self.keep()

    def _apply_schedule(self) -> None:
        if self.sub_no == 0 and self.step_no in self.applied:
            self._set(dict(self.applied[self.step_no]))

    def _set(self, changes: dict[str, Any]) -> None:
        self.s = replace(self.s, **changes)
        for opt, lr in ((self.opt_g, self.s.lr_g), (self.opt_d, self.s.lr_d)):
            for group in opt.param_groups if opt is not None else ():
                group["lr"] = lr
        self._objective()

    def change(self, **changes: Any) -> None:
        """Change live settings from the next step on (now, between two steps), recorded in the schedule so the run's JSON
        replays it; ConfigError for a setting that cannot change during a run."""
        for k in changes:
            if k not in LIVE:
                raise_live(k)
        at = self.step_no + (1 if self.sub_no else 0)  # a step begun finishes as it began
        if at == self.step_no:
            self._set(changes)
        merged = {**dict(self.applied.get(at, ())), **changes}
        self.applied[at] = tuple(sorted(merged.items()))
        self.s = dataclasses.replace(self.s, schedule=tuple(sorted(self.applied.items())))

    def recipe(self) -> Settings:
        """The settings that replay this run: those it began with and every live change, by step."""
        return dataclasses.replace(self.start, schedule=tuple(sorted(self.applied.items())))

    # -- what is seen ----------------------------------------------------------------------------------
    @torch.no_grad()
    def samples(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """The drawn G's points (N, 2) for noise ``z`` (default: the fixed 2,500 scored ones)."""
        return self.sampler(self.eval_z if z is None else z)

    def evaluate(self) -> Record:
        """Score the fixed 2,500 points and read D and G's gradient on them."""
        fake = self.samples()
        met = scores(fake, self.eval_real, self.dist.modes, self.dist.sigma)
        covered: list[int] = []
        near: list[int] = []
        if self.dist.modes is not None and self.dist.sigma is not None:
            idx, dist = nearest_modes(fake, self.dist.modes)
            covered = sorted(set(idx[dist <= 3 * self.dist.sigma].tolist()))
            near = reached(fake, self.dist.modes)
        n = (VIEW_POINTS // self.s.pack) * self.s.pack
        real_v, fake_v, grad = self.readings(self.eval_real[:n], fake[:n])
        return Record(
            self.step_no,
            met,
            float(real_v.mean()),
            float(fake_v.mean()),
            self._last[0],
            self._last[1],
            float(grad.norm(dim=1).mean()),
            covered,
            near,
            self._swing(),
        )

    def _swing(self) -> dict[str, float]:
        """``metrics.swing`` of the generated batches' centres over the last ``SWING_STEPS`` steps (at most
        half of those so far, so that the first moves out of the start are not counted)."""
        path = torch.tensor(self.centres[-min(SWING_STEPS, len(self.centres) // 2) :], dtype=torch.float64)
        if len(path) == 0 or not bool(path.isfinite().all()):
            return {}
        return {k: round(v, 3) for k, v in swing(path.reshape(-1, 2), self.spread).items()}

    def readings(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """D's reading (on its loss's scale) of each real and generated point's pack (N / m,), and G's
        gradient on each generated point (N, 2): minus the gradient of G's loss, where G is pushed."""
        m = self.s.pack
        x = fake.detach().clone().requires_grad_(True)
        rx = pack(real, m) if self.loss.relativistic else None
        loss = self.objective.g_main(self.critic, pack(x, m), rx, None)
        (grad,) = torch.autograd.grad(loss * len(x), x)
        with torch.no_grad():
            r = self.loss.readout.values(self.critic(pack(real, m)))
            f = self.loss.readout.values(self.critic(pack(fake, m)))
        return r, f, -grad

    @torch.no_grad()
    def field(self, res: int = 48) -> torch.Tensor:
        """D's reading over the square [-extent, extent]^2 (res, res), row 0 at the top; with packing, a
        point is read as a pack of m copies of itself."""
        e = self.dist.extent
        xs = torch.linspace(-e, e, res)
        yy, xx = torch.meshgrid(xs.flip(0), xs, indexing="ij")
        pts = torch.stack([xx.flatten(), yy.flatten()], 1)
        packs = pts.repeat(1, self.s.pack).reshape(-1, 2 * self.s.pack, 1, 1)
        return self.loss.readout.values(self.critic(packs)).reshape(res, res)

    @torch.no_grad()
    def manifold(self, n: int = 17) -> torch.Tensor:
        """G's image of a grid of noise: (n, n, 2) for 2D noise (the warped cells), (1, 8n, 2) for 1D."""
        lim = 2.0 if self.s.noise is Noise.GAUSSIAN else 1.0
        if self.s.noise_dim == 1:
            z = torch.linspace(-lim, lim, 8 * n)[:, None]
            return self.sampler(z).reshape(1, 8 * n, 2)
        c = torch.linspace(-lim, lim, n)
        zz = torch.cartesian_prod(c, c)
        return self.sampler(zz).reshape(n, n, 2)

    # -- rewind and fork -------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """A deep copy of the whole run at this step."""
        return copy.deepcopy(
            {
                "g": self.g.state_dict(),
                "d": self.d.state_dict() if self.d is not None else None,
                "g_ema": self.g_ema.state_dict() if self.g_ema is not None else None,
                "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
                "gen": self.gen.get_state(),
                "step": self.step_no,
                "sub": self.sub_no,
                "last": self._last,
                "s": self.s,
                "history": len(self.history),
                "curve": len(self.curve),
            }
        )

    def restore(self, st: dict[str, Any]) -> None:
        """Go back to a state from ``state`` (its settings and networks); later history is dropped."""
        st = copy.deepcopy(st)
        self.s = st["s"]
        self.g.load_state_dict(st["g"])
        if self.g_ema is not None and st["g_ema"] is not None:
            self.g_ema.load_state_dict(st["g_ema"])
        self.opt_g.load_state_dict(st["opt_g"])
        if self.d is not None and self.opt_d is not None:
            self.d.load_state_dict(st["d"])
            self.opt_d.load_state_dict(st["opt_d"])
        self.gen.set_state(st["gen"])
        self.step_no, self.sub_no, self._last = st["step"], st["sub"], st["last"]
        self.pending = None  # its gradients belong to the state left
        del self.history[st["history"] :]
        del self.curve[st["curve"] :]
        del self.centres[st["curve"] :]  # one per step, as the curve
        self.kept = {k: v for k, v in self.kept.items() if k <= self.step_no}
        self.applied = dict(self.s.schedule)
        self._set({})

    def keep(self) -> None:
        """Keep this step's state for rewind (at most ``KEEP``: beyond, every other old one is dropped)."""
        self.kept[self.step_no] = self.state()
        if len(self.kept) > KEEP:
            steps = sorted(self.kept)
            for k in steps[1:-1:2]:
                del self.kept[k]

    def rewind(self, step: int) -> int:
        """Go back to the latest kept state at or before ``step``; returns its step. Changes scheduled after
        it by hand are forgotten; those of the settings' own schedule stay."""
        at = max([k for k in self.kept if k <= step], default=0)
        self.restore(self.kept[at])
        return at

    def fork(self, step: int | None = None, **changes: Any) -> Lab:
        """A new run that starts from this one's state at ``step`` (default: now) with live ``changes``."""
        other = copy.deepcopy(self)
        if step is not None:
            other.rewind(step)
        if changes:
            other.change(**changes)
        return other


def raise_live(name: str) -> None:
    from ..errors import ConfigError

    raise ConfigError(
        f"{name!r} cannot change during a run (it defines the networks or data): reset with it, or change one "
        f"of {', '.join(LIVE)}"
    )
