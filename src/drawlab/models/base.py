"""The model-family interface and the registry.

A family owns its networks, its optimizers and its training step; the Trainer owns
everything else (data, checkpoints, logging, resume). Adding a model is adding one
file that defines a subclass decorated with ``@register``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import torch
from torch import nn

from .. import losses, rng
from ..config import SAMPLING, ModelConfig, interval_text, options
from ..errors import ConfigError
from ..images import to_uint8
from ..modes import evaluating
from . import tricks
from .context import FamilyContext
from .registry import REGISTRY, adversarial_names

__all__ = ["REGISTRY", "Family", "FamilyContext", "adversarial_names", "check_known", "get_family", "register"]


def register(cls: type[Family]) -> type[Family]:
    """Class decorator: make a family available under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def get_family(name: str) -> type[Family]:
    """The family class registered as ``name``; a ConfigError lists the known ones otherwise."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}: use one of {', '.join(sorted(REGISTRY))} (see `drawlab models`)")
    return REGISTRY[name]


class Family:
    """Base of every model family. Subclasses set ``name``, ``summary`` and implement
    ``build_networks`` and ``train_step``.

    Images are float (B, C, H, W) in [-1, 1]; labels int64 (B,) (zeros when unlabelled). What the run
    says to the family (steps per epoch, processes, autocast, steps done) is its ``context``, given at
    construction (``FamilyContext``); a step adds one to ``context.steps_done``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    rung: ClassVar[float] = 99.0  # place on the ladder (`drawlab models` lists in this order)
    needs_labels: ClassVar[bool] = False  # refuses unlabelled data
    uses_labels: ClassVar[bool] = False  # the generator takes the label when the data has labels
    adversarial: ClassVar[bool] = False  # has a discriminator "D" (and so the tricks, monitors and gallery)
    reconstructs: ClassVar[bool] = False  # has ``reconstruct(x, y)`` (autoencoders): reconstruction grids
    multiscale: ClassVar[bool] = False  # has ``scales_grid(z, y)`` (a multi-scale G): per-scale grids
    default_loss: ClassVar[str | None] = None  # the loss a run takes unless --loss says otherwise (None: the config's)
    pairs_labels: ClassVar[bool] = False  # --pair-labels random means something (the MSE families)
    latent_is_image: ClassVar[bool] = False  # z is the initial noise image, flattened (the denoisers)
    samplers: ClassVar[tuple[str, ...]] = ()  # what --sampler may name (the first is the default)
    predictions: ClassVar[tuple[str, ...]] = ()  # what --prediction may name (the first is the default)
    draw_batch: ClassVar[int] = 500  # images per batch when drawing many (500: the fastest measured on a CPU)

    def __init__(
        self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int, context: FamilyContext | None = None
    ):
        if self.needs_labels and num_classes <= 1:
            raise ConfigError(
                f"model {self.name} needs labelled data (a dataset with classes, e.g. mnist, "
                "or a folder with one subfolder per class); for unlabelled images use --model dcgan"
            )
        tricks.check_tricks(cfg, self.adversarial, self.name)
        tricks.check_stabilisers(cfg, self.adversarial, self.name)
        self.cfg = cfg
        self.shape: tuple[int, int, int] = (int(shape[0]), int(shape[1]), int(shape[2]))
        self.context = context if context is not None else FamilyContext()
        self.num_classes = num_classes if self.uses_labels else 0
        self.nets: dict[str, nn.Module] = self.prepare_networks(self.build_networks())
        self.opts: dict[str, torch.optim.Optimizer] = self.build_optimizers()
        self.channels_last = False  # the networks' layout (``to``); image inputs should match it
        if cfg.ema_images > 0:
            self.nets["G_ema"] = copy.deepcopy(self.nets["G"]).requires_grad_(False)

    @classmethod
    def latent_dim(cls, cfg: ModelConfig, shape: tuple[int, int, int]) -> int:
        """The size of z for images of ``shape`` (C, H, W): ``cfg.z_dim`` (the denoisers: C * H * W)."""
        return cfg.z_dim

    @property
    def steps_done(self) -> int:
        """Optimisation steps taken so far (``context.steps_done``)."""
        return self.context.steps_done

    def autocast(self) -> AbstractContextManager:
        """The context every forward pass runs under (``context.autocast``: mixed precision, or nothing)."""
        return self.context.autocast()

    @property
    def conditional(self) -> bool:
        """Whether the generator draws a chosen class."""
        return self.num_classes > 0

    # -- to implement ---------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        """Return the networks, at least ``{"G": generator}``; G(z (B, z_dim), y (B,)) -> (B, C, H, W)."""
        raise NotImplementedError

    def prepare_networks(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """Adjust the built networks before optimizers exist (adversarial families: spectral norm)."""
        return nets

    def optimise(self, loss: torch.Tensor) -> None:
        """One step of every optimizer on ``loss`` (families trained by one loss: MSE, autoencoders)."""
        for opt in self.opts.values():
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in self.opts.values():
            opt.step()

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for every trainable network it built (D at ``lr_d``, the rest -- G, an encoder -- at ``lr_g``)."""
        lrs = {"D": self.cfg.lr_d}
        return {
            k: torch.optim.Adam(net.parameters(), lr=lrs.get(k, self.cfg.lr_g), betas=(self.cfg.beta1, self.cfg.beta2))
            for k, net in self.nets.items()
            if k != "G_ema" and any(p.requires_grad for p in net.parameters())
        }

    def train_step(self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """One optimisation step on a real batch; returns detached scalar metrics (no host sync)."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    @property
    def has_conv(self) -> bool:
        """Whether any network convolves (then NHWC memory layout pays)."""
        return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for net in self.nets.values() for m in net.modules())

    def to(self, device: torch.device, channels_last: bool = False) -> Family:
        """Move networks (and optimizer state) to ``device``, optionally in NHWC layout."""
        self.channels_last = channels_last
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
        return rng.randn((n, self.cfg.z_dim), gen, device)

    def drawing_net(self) -> str:
        """The name of the network that draws: "G_ema" when there is one, else "G"."""
        return "G_ema" if "G_ema" in self.nets else "G"

    def sampler(self) -> nn.Module:
        """The generator used for pictures: the EMA copy when there is one."""
        return self.nets[self.drawing_net()]

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] from z (B, z_dim) in eval mode (same z -> same image)."""
        g = self.sampler()
        if self.conditional and y is None:
            y = torch.arange(z.shape[0], device=z.device) % self.num_classes
        with evaluating(g), self.autocast():
            out = g(z, y if self.conditional else None)
        return out.float()

    @torch.no_grad()
    def draw(self, z: torch.Tensor, y: torch.Tensor, batch: int | None = None) -> torch.Tensor:
        """uint8 images (N, C, H, W) on the CPU from z (N, z_dim) and labels (N,), in batches of
        ``batch`` (default ``draw_batch``) on the networks' device."""
        batch = batch or self.draw_batch
        device = next(self.sampler().parameters()).device
        out = []
        with torch.inference_mode():
            for i in range(0, len(z), batch):
                x = self.generate(z[i : i + batch].to(device), y[i : i + batch].to(device))
                out.append(to_uint8(x).cpu())
        return torch.cat(out)

    def ema_weight(self, steps: int, batch: int) -> float:
        """How far the EMA generator moves towards G after ``steps`` steps of ``batch`` images: 1 - beta,
        beta = 0.5 ** (batch / half-life) (stylegan2-ada's definition), the half-life being ``ema_images``,
        capped at ``ema_rampup`` x the images seen so far when a ramp-up is set (1.0 at the start: a copy)."""
        half = self.cfg.ema_images
        if self.cfg.ema_rampup > 0:
            half = min(half, self.cfg.ema_rampup * steps * batch)
        return 1.0 - 0.5 ** (batch / max(half, 1e-8))

    def update_ema(self, batch: int) -> None:
        """Move the EMA generator towards G after a step on ``batch`` images of this process (see ``ema_weight``)."""
        if "G_ema" not in self.nets:
            return
        w: torch.Tensor | float | None = self.context.ema_weight_on_device
        if w is None:
            w = self.ema_weight(self.steps_done, batch * self.context.processes)
        with torch.no_grad():
            for pe, p in zip(self.nets["G_ema"].parameters(), self.nets["G"].parameters()):
                pe.lerp_(p, w)
            for be, b in zip(self.nets["G_ema"].buffers(), self.nets["G"].buffers()):
                be.copy_(b)

    # -- how it samples (the denoisers: steps, guidance, sampler) -----------------------------------
    def set_sampling(self, **asked: Any) -> None:
        """Sample with these instead of the run's settings: keywords of ``config.SAMPLING`` (``sample_steps``,
        ``guidance``, ``guidance_low``, ``guidance_high``, ``sampler``, ``sample_shift``); None keeps the run's.
        Only the denoisers sample in steps: any other family refuses in one line."""
        unknown = set(asked) - set(SAMPLING)
        if unknown:
            raise TypeError(f"set_sampling() takes {', '.join(SAMPLING)}, not {', '.join(sorted(unknown))}")
        given = {k: v for k, v in asked.items() if v is not None}
        if not given:
            return
        if not self.latent_is_image:
            flag = "--" + next(iter(given)).replace("_", "-")
            raise ConfigError(f"{flag} applies to the denoisers (flow, ddpm); this run's model is {self.name}")
        new = dataclasses.replace(self.cfg, **given)
        self.check_sampling(new)
        self.cfg = new

    def check_sampling(self, cfg: ModelConfig) -> None:
        """Each sampling setting in its range (a config.json may have been edited), the sampler one of this
        family's, guidance only with labels, the interval in order: one line each otherwise."""
        for path, o, _ in options():
            why = o.problem(getattr(cfg, path[6:])) if path.startswith("model.") and path[6:] in SAMPLING else None
            if why:
                raise ConfigError(f"{o.flag} {why}")
        if cfg.sampler is not None and cfg.sampler not in self.samplers:
            raise ConfigError(f"--sampler {cfg.sampler}: {self.name} samples with {' or '.join(self.samplers)}")
        if cfg.guidance != 1.0 and not self.conditional:
            raise ConfigError(f"--guidance {cfg.guidance:g} needs a conditional model (labelled data): drop it")
        if cfg.sample_shift != 1.0 and self.name != "flow":
            raise ConfigError(f"--sample-shift is an option of flow only, not of {self.name}: drop it")
        check_interval(cfg)

    def sampling(self) -> dict[str, object] | None:
        """How this family samples, for records and names (None: one forward pass, nothing to say)."""
        if not self.latent_is_image:
            return None
        return {
            "sampler": self.cfg.sampler or self.samplers[0],
            "steps": self.cfg.sample_steps,
            "guidance": self.cfg.guidance,
            "guidance_interval": [self.cfg.guidance_low, self.cfg.guidance_high],
            "shift": self.cfg.sample_shift,
        }

    def sampling_tag(self) -> str:
        """What a metric's name adds to pin the sampling: "" for one-pass generators, e.g. "-euler20",
        "-euler20s3" (grid shift 3) or "-ddim10-cfg2" (samples drawn with 10 steps are not those drawn with 50)."""
        s = self.sampling()
        if s is None:
            return ""
        shift = f"s{s['shift']:g}" if s["shift"] != 1.0 else ""
        return f"-{s['sampler']}{s['steps']}{shift}" + guidance_tag(s)

    def labels_for(self, y: torch.Tensor) -> torch.Tensor | None:
        return y if self.conditional else None


def guidance_tag(s: dict[str, Any]) -> str:
    """What guidance adds to a metric's name: nothing unguided, "-cfg2" guided at every step, "-cfg2i0.2-0.8"
    guided where the noise level is in [0.2, 0.8]."""
    if s["guidance"] == 1.0:
        return ""
    part = interval_text(s)
    return f"-cfg{s['guidance']:g}" + (f"i{part}" if part else "")


def check_interval(cfg: ModelConfig) -> None:
    """The guidance interval is the denoisers', and --guidance-low must not be above --guidance-high: one line
    otherwise."""
    if not get_family(cfg.name).latent_is_image and (cfg.guidance_low, cfg.guidance_high) != (0.0, 1.0):
        raise ConfigError(
            f"--guidance-low/--guidance-high apply to the denoisers (flow, ddpm), not {cfg.name}: drop them"
        )
    if cfg.guidance_low > cfg.guidance_high:
        raise ConfigError(
            f"--guidance-low {cfg.guidance_low:g} is above --guidance-high {cfg.guidance_high:g}: guidance would "
            "apply nowhere; give low <= high (noise levels, 1: pure noise)"
        )


def check_known(cfg: ModelConfig) -> None:
    """Validate options every family shares."""
    if cfg.loss not in losses.LOSSES:
        raise ConfigError(f"unknown loss {cfg.loss!r}: use one of {', '.join(losses.LOSSES)}")
    if cfg.label_smoothing > 0 and not losses.get_loss(cfg.loss).supports_smoothing:
        raise ConfigError(
            f"--label-smoothing applies to the nonsaturating and lsgan losses; {cfg.loss} has no "
            "probability targets: drop --label-smoothing"
        )
    if cfg.d_cond not in ("concat", "projection"):
        raise ConfigError(f"unknown d_cond {cfg.d_cond!r}: use concat or projection")
    if cfg.pair_labels not in ("true", "random"):
        raise ConfigError(f"--pair-labels {cfg.pair_labels!r}: use true or random")
    if cfg.pair_labels == "random" and cfg.name not in ("mlp-mse", "conv-mse"):
        raise ConfigError(
            f"--pair-labels random replays the article's MSE experiment: use it with mlp-mse or "
            f"conv-mse, not {cfg.name}"
        )
    if not get_family(cfg.name).latent_is_image and (cfg.sampler is not None or cfg.guidance != 1.0 or cfg.patch != 1):
        flag = "--sampler" if cfg.sampler is not None else "--guidance" if cfg.guidance != 1.0 else "--patch"
        raise ConfigError(f"{flag} applies to the denoisers (flow, ddpm), not {cfg.name}: drop it")
    check_interval(cfg)
    if cfg.name != "ddpm" and cfg.schedule != ModelConfig().schedule:
        raise ConfigError(f"--schedule is an option of ddpm only, not of {cfg.name}: drop it")
    if cfg.name != "flow" and cfg.sample_shift != ModelConfig().sample_shift:
        raise ConfigError(f"--sample-shift is an option of flow only, not of {cfg.name}: drop it")
    if cfg.name != "flow" and cfg.time_sampling != ModelConfig().time_sampling:
        raise ConfigError(f"--time-sampling is an option of flow only, not of {cfg.name}: drop it")
    answers = get_family(cfg.name).predictions
    if cfg.prediction is not None and cfg.prediction not in answers:
        if not answers:
            raise ConfigError(f"--prediction applies to the denoisers (flow, ddpm), not {cfg.name}: drop it")
        raise ConfigError(f"--prediction {cfg.prediction}: {cfg.name} predicts {' or '.join(answers)}")
    if cfg.d_steps < 1:
        raise ConfigError("--d-steps must be at least 1")
    if not (math.isfinite(cfg.ema_images) and cfg.ema_images >= 0):
        raise ConfigError(f"--ema {cfg.ema_images} must be a half-life in images, >= 0, e.g. 10000 (0 turns it off)")
    if not (math.isfinite(cfg.ema_rampup) and cfg.ema_rampup >= 0):
        raise ConfigError(f"--ema-rampup {cfg.ema_rampup} must be >= 0, e.g. 0.05 (0: no ramp-up)")
