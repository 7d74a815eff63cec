"""The model-family interface and the registry.

A family owns its networks, its optimizers and its training step; the Trainer owns
everything else (data, checkpoints, logging, resume). Adding a model is adding one
file that defines a subclass decorated with ``@register``.
"""
from __future__ import annotations

import copy
from contextlib import AbstractContextManager, nullcontext
from typing import Callable, ClassVar

import torch
from torch import nn

from .. import losses
from ..config import ModelConfig
from ..errors import ConfigError
from ..images import to_uint8

REGISTRY: dict[str, type["Family"]] = {}


def register(cls: type["Family"]) -> type["Family"]:
    """Class decorator: make a family available under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def get_family(name: str) -> type["Family"]:
    """The family class registered as ``name``; a ConfigError lists the known ones otherwise."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}: use one of {', '.join(sorted(REGISTRY))} (see `drawlab models`)")
    return REGISTRY[name]


class Family:
    """Base of every model family. Subclasses set ``name``, ``summary`` and implement
    ``build_networks`` and ``train_step``.

    Images are float (B, C, H, W) in [-1, 1]; labels int64 (B,) (zeros when unlabelled).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    needs_labels: ClassVar[bool] = False   # refuses unlabelled data
    uses_labels: ClassVar[bool] = False    # the generator takes the label when the data has labels

    def __init__(self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int):
        if self.needs_labels and num_classes <= 1:
            raise ConfigError(f"model {self.name} needs labelled data (a dataset with classes, e.g. mnist, "
                              "or a folder with one subfolder per class); for unlabelled images use --model dcgan")
        self.cfg, self.shape = cfg, tuple(shape)
        self.num_classes = num_classes if self.uses_labels else 0
        self.nets: dict[str, nn.Module] = self.build_networks()
        self.opts: dict[str, torch.optim.Optimizer] = self.build_optimizers()
        if cfg.ema > 0:
            self.nets["G_ema"] = copy.deepcopy(self.nets["G"]).requires_grad_(False)
        self.autocast: Callable[[], AbstractContextManager] = nullcontext
        self.steps_done = 0

    @property
    def conditional(self) -> bool:
        """Whether the generator draws a chosen class."""
        return self.num_classes > 0

    # -- to implement ---------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        """Return the networks, at least ``{"G": generator}``; G(z (B, z_dim), y (B,)) -> (B, C, H, W)."""
        raise NotImplementedError

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for each trainable network, with the config's learning rates."""
        lrs = {"G": self.cfg.lr_g, "D": self.cfg.lr_d}
        return {k: torch.optim.Adam(net.parameters(), lr=lrs.get(k, self.cfg.lr_g),
                                    betas=(self.cfg.beta1, self.cfg.beta2))
                for k, net in self.nets.items() if k in lrs}

    def train_step(self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """One optimisation step on a real batch; returns detached scalar metrics (no host sync)."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    def to(self, device: torch.device, channels_last: bool = False) -> "Family":
        """Move networks (and optimizer state) to ``device``, optionally in NHWC layout."""
        for net in self.nets.values():
            net.to(device)
            if channels_last:
                net.to(memory_format=torch.channels_last)
        for opt in self.opts.values():
            for state in opt.state.values():
                for k, v in state.items():
                    if torch.is_tensor(v) and k != "step":
                        state[k] = v.to(device)
        return self

    def noise(self, n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """Training noise (n, z_dim) from the trainer's generator."""
        return torch.randn(n, self.cfg.z_dim, generator=gen, device=device)

    def sampler(self) -> nn.Module:
        """The generator used for pictures: the EMA copy when there is one."""
        return self.nets.get("G_ema", self.nets["G"])

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] from z (B, z_dim) in eval mode (same z -> same image)."""
        g = self.sampler()
        if self.conditional and y is None:
            y = torch.arange(z.shape[0], device=z.device) % self.num_classes
        was_training = g.training
        g.eval()
        try:
            with self.autocast():
                out = g(z, y if self.conditional else None)
        finally:
            g.train(was_training)
        return out.float()

    @torch.no_grad()
    def draw(self, z: torch.Tensor, y: torch.Tensor, batch: int = 500) -> torch.Tensor:
        """uint8 images (N, C, H, W) on the CPU from z (N, z_dim) and labels (N,), in batches of
        ``batch`` on the networks' device (batches of 500 are the fastest measured on a CPU)."""
        device = next(self.sampler().parameters()).device
        out = []
        with torch.inference_mode():
            for i in range(0, len(z), batch):
                x = self.generate(z[i:i + batch].to(device), y[i:i + batch].to(device))
                out.append(to_uint8(x).cpu())
        return torch.cat(out)

    def update_ema(self) -> None:
        """Move the EMA generator towards G (a plain copy before ``ema_start`` steps)."""
        if "G_ema" not in self.nets:
            return
        decay = self.cfg.ema if self.steps_done >= self.cfg.ema_start else 0.0
        with torch.no_grad():
            for pe, p in zip(self.nets["G_ema"].parameters(), self.nets["G"].parameters()):
                pe.lerp_(p, 1.0 - decay)
            for be, b in zip(self.nets["G_ema"].buffers(), self.nets["G"].buffers()):
                be.copy_(b)

    def labels_for(self, y: torch.Tensor) -> torch.Tensor | None:
        return y if self.conditional else None


class ReconstructionFamily(Family):
    """A generator trained with pixel MSE against real images of the same label: it learns the
    conditional mean, the blurry 'average digit', whatever the noise says."""

    uses_labels = True

    def train_step(self, x, y, gen):
        z = self.noise(x.shape[0], gen, x.device)
        with self.autocast():
            fake = self.nets["G"](z, self.labels_for(y))
        loss = losses.pixel_mse(fake, x)
        opt = self.opts["G"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self.steps_done += 1
        self.update_ema()
        return {"loss_g": loss.detach()}


class AdversarialFamily(Family):
    """G and D trained against each other: ``d_steps`` D updates on (real, G(z)) then one G update."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "hinge":
            return losses.d_loss_hinge(real_logits, fake_logits)
        return losses.d_loss_nonsaturating(real_logits, fake_logits, 1.0 - self.cfg.label_smoothing)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "hinge":
            return losses.g_loss_hinge(fake_logits)
        return losses.g_loss_nonsaturating(fake_logits)

    def train_step(self, x, y, gen):
        G, D, opt_g, opt_d = self.nets["G"], self.nets["D"], self.opts["G"], self.opts["D"]
        yl = self.labels_for(y)
        B = x.shape[0]
        for i in range(self.cfg.d_steps):
            with self.autocast():
                fake = G(self.noise(B, gen, x.device), yl)
                real_logits = D(x, yl)
                fake_logits = D(fake.detach(), yl)
                d_loss = self.d_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        D.requires_grad_(False)                      # no weight gradients for D in the G step
        with self.autocast():
            g_logits = D(fake, yl)                   # reuse the last fake batch (as pytorch/examples does)
            g_loss = self.g_loss(g_logits)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        self.steps_done += 1
        self.update_ema()
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach(),
                "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
                "d_fake": torch.sigmoid(fake_logits.detach().float()).mean()}


def check_known(cfg: ModelConfig) -> None:
    """Validate options every family shares."""
    if cfg.loss not in ("nonsaturating", "hinge"):
        raise ConfigError(f"unknown loss {cfg.loss!r}: use nonsaturating or hinge")
    if cfg.d_cond not in ("concat", "projection"):
        raise ConfigError(f"unknown d_cond {cfg.d_cond!r}: use concat or projection")
    if cfg.d_steps < 1:
        raise ConfigError("--d-steps must be at least 1")
    if not 0 <= cfg.ema < 1:
        raise ConfigError("--ema must be in [0, 1), e.g. 0.999 (0 turns it off)")
