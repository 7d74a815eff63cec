"""The pieces of one 2D update: the MLPs, packing, G's noise, an update computed up to its gradients but
not applied (``Pending``: what slow motion shows of it, phase by phase) and D unrolled ``k`` updates ahead as
a function of G's weights (Metz et al. 2017). ``game.Lab`` owns the run and puts them together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.func import functional_call

from ..losses import AdversarialLoss, Critic, Images
from .settings import Noise

PHASES = ("generate", "judge", "loss", "gradients", "update")  # the parts of one update, as slow motion names them


def mlp(n_in: int, n_out: int, width: int, depth: int, sn: bool = False) -> nn.Sequential:
    """n_in -> [Linear(width) -> LeakyReLU(0.2)] x depth -> Linear(n_out); spectral norm on every layer if ``sn``."""
    layers: list[nn.Module] = [nn.Flatten()]
    sizes = [n_in] + [width] * depth
    for a, b in zip(sizes[:-1], sizes[1:]):
        lin = nn.Linear(a, b)
        layers += [nn.utils.parametrizations.spectral_norm(lin) if sn else lin, nn.LeakyReLU(0.2)]
    last = nn.Linear(sizes[-1], n_out)
    layers.append(nn.utils.parametrizations.spectral_norm(last) if sn else last)
    return nn.Sequential(*layers)


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Points (B, 2) -> D's input (B / m, 2m, 1, 1): m consecutive points judged together."""
    return x.reshape(x.shape[0] // m, 2 * m, 1, 1)


def noise_of(kind: Noise, n: int, dim: int, gen: torch.Generator) -> torch.Tensor:
    """G's input (n, dim): N(0, 1), or uniform on [-1, 1]."""
    if kind is Noise.GAUSSIAN:
        return torch.randn((n, dim), generator=gen)
    return 2 * torch.rand((n, dim), generator=gen) - 1


Net = Literal["D", "G"]  # which network an update trains


@dataclass
class Pending:
    """One D or G update computed up to its gradients, not yet applied: what slow motion shows of it."""

    which: Net
    index: int  # 0-based: which of the step's D (or G) updates
    fake: torch.Tensor  # (B, 2) the generated batch
    real: torch.Tensor | None  # (B, 2) the real batch judged with it (D updates; relativistic losses)
    read_fake: torch.Tensor  # (B / m,) D's reading of each generated pack, on its loss's scale
    read_real: torch.Tensor | None  # (B / m,) the same of the real packs
    loss: float
    arrows: torch.Tensor | None  # (B, 2) G updates: minus the gradient of G's loss on each point
    grad_norm: float  # the norm of the gradient over the updated network's weights
    phase: int = -1  # the one of PHASES slow motion shows now (-1: none yet)


def grad_norm(net: nn.Module) -> float:
    """The L2 norm of ``net``'s gradient over all its weights (0 before any backward pass)."""
    return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in net.parameters() if p.grad is not None))


def unrolled(
    d: nn.Module,
    opt_d: torch.optim.Optimizer,
    loss: AdversarialLoss,
    k: int,
    batches: Callable[[], tuple[torch.Tensor, torch.Tensor]],
) -> Critic:
    """D after ``k`` more updates of its own loss on ``batches()`` (packed real, packed generated: the latter
    still a function of G's weights), following ``opt_d``'s Adam (or SGD) rule from its current moments and
    learning rate. The graph is kept through every update, as Metz et al. do, so G's loss on the returned
    critic differentiates through D's look-ahead; ``d`` and ``opt_d`` are left untouched."""
    params = dict(d.named_parameters())
    group = opt_d.param_groups[0]
    if any(group.get(key) for key in ("weight_decay", "momentum", "amsgrad", "maximize", "nesterov")):
        raise ValueError("unrolled(): D's look-ahead models plain Adam and plain SGD only")
    lr, adam, eps = group["lr"], isinstance(opt_d, torch.optim.Adam), group.get("eps", 1e-8)
    b1, b2 = group.get("betas", (0.0, 0.0))
    st = {n: opt_d.state.get(p, {}) for n, p in params.items()}
    mom = {n: st[n]["exp_avg"].clone() if "exp_avg" in st[n] else torch.zeros_like(p) for n, p in params.items()}
    var = {n: st[n]["exp_avg_sq"].clone() if "exp_avg_sq" in st[n] else torch.zeros_like(p) for n, p in params.items()}
    first: dict[str, Any] = next(iter(st.values()), {})
    t = int(first.get("step", 0))
    cur: dict[str, torch.Tensor] = dict(params)
    for _ in range(k):
        rx, fx = batches()
        rl = functional_call(d, cur, (rx,)).squeeze(1)
        fl = functional_call(d, cur, (fx,)).squeeze(1)
        step_loss = loss.d_loss(rl, fl, torch.ones(len(rx)), torch.zeros(len(fx)))
        grads = torch.autograd.grad(step_loss, list(cur.values()), create_graph=True)
        t += 1
        new = {}
        for (n, p), g in zip(cur.items(), grads):
            if adam:
                mom[n] = b1 * mom[n] + (1 - b1) * g
                var[n] = b2 * var[n] + (1 - b2) * g * g
                step = (mom[n] / (1 - b1**t)) / ((var[n] / (1 - b2**t) + 1e-16).sqrt() + eps)
            else:
                step = g
            new[n] = p - lr * step
        cur = new

    def ahead(x: Images, y: torch.Tensor | None = None) -> torch.Tensor:
        return functional_call(d, cur, (x,)).squeeze(1)

    return ahead
