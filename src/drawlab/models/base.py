"""The model-family interface and the registry.

A family owns its networks, its optimizers and its training step; the Trainer owns
everything else (data, checkpoints, logging, resume). Adding a model is adding one
file that defines a subclass decorated with ``@register``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import ClassVar

import torch
from torch import nn

from .. import losses, rng
from ..config import ModelConfig
from ..errors import ConfigError
from ..images import to_uint8
from . import tricks

REGISTRY: dict[str, type[Family]] = {}


def register(cls: type[Family]) -> type[Family]:
    """Class decorator: make a family available under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def adversarial_names() -> str:
    """The registered families with a discriminator, for messages: 'cgan, dcgan, gan, msggan'."""
    return ", ".join(sorted(n for n, cls in REGISTRY.items() if cls.adversarial))


def get_family(name: str) -> type[Family]:
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
    rung: ClassVar[float] = 99.0  # place on the ladder (`drawlab models` lists in this order)
    needs_labels: ClassVar[bool] = False  # refuses unlabelled data
    uses_labels: ClassVar[bool] = False  # the generator takes the label when the data has labels
    adversarial: ClassVar[bool] = False  # has a discriminator "D" (and so the tricks, monitors and gallery)
    reconstructs: ClassVar[bool] = False  # has ``reconstruct(x, y)`` (autoencoders): reconstruction grids
    default_loss: ClassVar[str | None] = None  # the adversarial loss used when none is given (None: nonsaturating)
    pairs_labels: ClassVar[bool] = False  # --pair-labels random applies (MSE families: the article's experiment)

    def __init__(self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int):
        if self.needs_labels and num_classes <= 1:
            raise ConfigError(
                f"model {self.name} needs labelled data (a dataset with classes, e.g. mnist, "
                "or a folder with one subfolder per class); for unlabelled images use --model dcgan"
            )
        tricks.check_tricks(cfg, self.adversarial, self.name)
        tricks.check_stabilisers(cfg, self.adversarial, self.name)
        self.cfg, self.shape = cfg, tuple(shape)
        self.steps_per_epoch = 1  # set by the trainer: tricks counted in epochs need it
        self.num_classes = num_classes if self.uses_labels else 0
        self.nets: dict[str, nn.Module] = self.prepare_networks(self.build_networks())
        self.opts: dict[str, torch.optim.Optimizer] = self.build_optimizers()
        if cfg.ema_images > 0:
            self.nets["G_ema"] = copy.deepcopy(self.nets["G"]).requires_grad_(False)
        self.autocast: Callable[[], AbstractContextManager] = nullcontext
        self.steps_done = 0
        self.ema_weight_on_device: torch.Tensor | None = None  # set by CUDA graphs: the weight of each replay
        self.processes = 1  # data-parallel processes sharing each batch (set by the trainer): EMA counts all rows

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
        w = self.ema_weight_on_device
        if w is None:
            w = self.ema_weight(self.steps_done, batch * self.processes)
        with torch.no_grad():
            for pe, p in zip(self.nets["G_ema"].parameters(), self.nets["G"].parameters()):
                pe.lerp_(p, w)
            for be, b in zip(self.nets["G_ema"].buffers(), self.nets["G"].buffers()):
                be.copy_(b)

    def labels_for(self, y: torch.Tensor) -> torch.Tensor | None:
        return y if self.conditional else None


class ReconstructionFamily(Family):
    """A generator trained with pixel MSE against real images of the same label: it learns the
    conditional mean, the blurry 'average digit', whatever the noise says."""

    uses_labels = True
    pairs_labels = True

    def __init__(self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int):
        super().__init__(cfg, shape, num_classes)
        if cfg.pair_labels == "random" and not self.conditional:
            raise ConfigError("--pair-labels random needs labelled data: there are no labels to pair")

    def pairing(self, y: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """The labels G is given for the real batch: its own (``pair_labels`` "true") or random ones, as the
        article's first experiment did by mistake (the cause of its label-blind digits)."""
        if self.cfg.pair_labels == "random" and self.conditional:
            return rng.randint(0, self.num_classes, y.shape, gen, y.device)
        return y

    def train_step(self, x, y, gen):
        z = self.noise(x.shape[0], gen, x.device)
        y = self.pairing(y, gen)
        with self.autocast():
            fake = self.nets["G"](z, self.labels_for(y))
        loss = losses.pixel_mse(fake, x)
        self.optimise(loss)
        self.steps_done += 1
        self.update_ema(x.shape[0])
        return {"loss_g": loss.detach()}


class AdversarialFamily(Family):
    """G and D trained against each other. One step: ``d_steps`` D updates on (real, G(z)), then
    ``g_steps`` G updates, with the stabilising tricks of ``models/tricks.py`` as the config asks
    (D alone for the first ``d_pretrain_steps`` steps; swapped, noisy or flipped inputs to D)."""

    adversarial = True

    def __init__(self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int):
        from ..augment import parse_policy

        self.loss = losses.get_loss(cfg.loss)
        penalties: list[losses.Penalty] = []
        if cfg.penalty_weight() > 0:
            penalties.append(losses.GradientPenalty(cfg.penalty_weight()))
        if cfg.r1 > 0:
            penalties.append(losses.R1(cfg.r1, cfg.r1_every))
        self.objective = losses.Objective(self.loss, penalties)
        super().__init__(cfg, shape, num_classes)
        self.augment = parse_policy(cfg.diffaugment)

    @property
    def d_norm(self) -> str:
        """D's normalisation layer kind (``ModelConfig.resolved_d_norm``), for build_networks."""
        return self.cfg.resolved_d_norm()

    def prepare_networks(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """Spectral normalisation (Miyato et al. 2018) of every conv and linear weight of D, G or both."""
        which = {"d": ("D",), "g": ("G",), "both": ("D", "G")}.get(self.cfg.spectral_norm, ())
        for name in which:
            for m in list(nets[name].modules()):
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(m, dim=1 if isinstance(m, nn.ConvTranspose2d) else 0)
        return nets

    def d_view(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Images as D sees them in both phases: instance noise, then DiffAugment."""
        from ..augment import diff_augment

        return diff_augment(tricks.add_noise(x, tricks.noise_sigma(self.cfg, self.steps_done), gen), self.augment, gen)

    @property
    def readout(self) -> losses.Readout:
        """How D's output reads under this run's loss (a probability, or a raw score)."""
        return self.loss.readout

    def generate_for_d(self, z: torch.Tensor, y: torch.Tensor | None):
        """What G hands D in training: its image batch (a multi-scale family: every scale)."""
        return self.nets["G"](z, y)

    def _d_inputs(self, x: torch.Tensor, fake, gen: torch.Generator):
        """(real batch, generated batch) as D sees them: swapped, noised and augmented."""
        x = tricks.swap_real(
            x, full_size(fake), tricks.swap_count(self.cfg, x.shape[0], self.steps_done, self.steps_per_epoch)
        )
        return self.d_view(x, gen), self.d_view(fake, gen)

    def _d_update(self, x, yl, gen) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One D update (Phase.D_MAIN, then Phase.D_REG when a penalty is due); returns
        (main loss, real logits, fake logits, the generated batch)."""
        D, B, cfg = self.nets["D"], x.shape[0], self.cfg
        with self.autocast():
            fake = self.generate_for_d(self.noise(B, gen, x.device), yl)
            real_in, fake_in = self._d_inputs(x, detached(fake), gen)
            t_real = tricks.targets(B, True, cfg.label_smoothing, cfg.flip_labels, gen, x.device)
            t_fake = tricks.targets(B, False, cfg.label_smoothing, cfg.flip_labels, gen, x.device)
            loss, real_logits, fake_logits = self.objective.d_main(D, real_in, fake_in, yl, t_real, t_fake)
            reg = self.objective.d_reg(D, real_in, fake_in, yl, gen, self.steps_done)
        self.opts["D"].zero_grad(set_to_none=True)
        (loss if reg is None else loss + reg).backward()
        self.opts["D"].step()
        return loss, real_logits, fake_logits, fake

    def _g_update(self, fake, x, yl, gen) -> torch.Tensor:
        """One G update through the (frozen) D on ``fake`` (Phase.G_MAIN); returns the loss."""
        with self.autocast():
            real_in = self.d_view(x, gen) if self.loss.relativistic else None
            loss = self.objective.g_main(self.nets["D"], self.d_view(fake, gen), real_in, yl)
        self.opts["G"].zero_grad(set_to_none=True)
        loss.backward()
        self.opts["G"].step()
        return loss

    def train_step(self, x, y, gen):
        D = self.nets["D"]
        yl = self.labels_for(y)
        for _ in range(self.cfg.d_steps):
            d_loss, real_logits, fake_logits, fake = self._d_update(x, yl, gen)
        D.requires_grad_(False)  # no weight gradients for D in the G step
        if self.steps_done < self.cfg.d_pretrain_steps:  # D alone against the untrained G
            with torch.no_grad(), self.autocast():
                g_loss = self.loss.g_loss(D(detached(fake), yl), D(x, yl) if self.loss.relativistic else None)
        else:
            for i in range(self.cfg.g_steps):  # the first reuses the last fake batch (as pytorch/examples)
                batch = fake if i == 0 else self.generate_for_d(self.noise(x.shape[0], gen, x.device), yl)
                g_loss = self._g_update(batch, x, yl, gen)
        D.requires_grad_(True)
        self.steps_done += 1
        self.update_ema(x.shape[0])
        r = self.readout
        return {
            "loss_d": d_loss.detach(),
            "loss_g": g_loss.detach(),
            r.keys[0]: r.values(real_logits).mean(),
            r.keys[1]: r.values(fake_logits).mean(),
        }

    @torch.no_grad()
    def judge(
        self, images: torch.Tensor, labels: torch.Tensor | None, batch: int = 128, as_in_training: bool = True
    ) -> torch.Tensor:
        """D's logits (N,) float32 on the CPU for images (N, C, H, W) in [-1, 1] (labels (N,) for conditional D).

        ``as_in_training``: D in training mode, in batches of ``batch`` of one kind (as the losses see it;
        BatchNorm statistics of each batch, running statistics left untouched); otherwise eval mode.
        """
        D = self.nets["D"]
        device = next(D.parameters()).device
        was = D.training
        D.train(as_in_training)
        out = []
        try:
            with _statistics_kept(D):
                for i in range(0, len(images), batch):
                    yb = labels[i : i + batch].to(device) if self.conditional and labels is not None else None
                    with self.autocast():
                        out.append(D(images[i : i + batch].to(device), yb).float().cpu())
        finally:
            D.train(was)
        return torch.cat(out)

    @torch.no_grad()
    def generate_training(self, z: torch.Tensor, y: torch.Tensor | None, batch: int = 128) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] from the *training* generator as D meets them (training mode,
        batches of ``batch``; running statistics left untouched)."""
        G, out = self.nets["G"], []
        with _statistics_kept(G):
            for i in range(0, len(z), batch):
                with self.autocast():
                    out.append(G(z[i : i + batch], y[i : i + batch] if self.conditional else None).float())
        return torch.cat(out)


def detached(images):
    """A batch of images (or a list of them, one per scale) cut from the graph."""
    return [t.detach() for t in images] if isinstance(images, (list, tuple)) else images.detach()


def full_size(images) -> torch.Tensor:
    """The full-size batch of a batch or of a coarse-to-fine list of scales."""
    return images[-1] if isinstance(images, (list, tuple)) else images


@contextmanager
def _statistics_kept(net: nn.Module) -> Iterator[None]:
    """Run ``net`` (e.g. in training mode, to look) and put its BatchNorm running statistics back after."""
    saved = {
        k: v.clone()
        for k, v in net.state_dict().items()
        if "running" in k or "num_batches" in k or k.endswith(("._u", "._v"))
    }  # BatchNorm; spectral norm
    try:
        yield
    finally:
        if saved:
            net.load_state_dict(saved, strict=False)


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
    if cfg.d_steps < 1:
        raise ConfigError("--d-steps must be at least 1")
    if not (math.isfinite(cfg.ema_images) and cfg.ema_images >= 0):
        raise ConfigError(f"--ema {cfg.ema_images} must be a half-life in images, >= 0, e.g. 10000 (0 turns it off)")
    if not (math.isfinite(cfg.ema_rampup) and cfg.ema_rampup >= 0):
        raise ConfigError(f"--ema-rampup {cfg.ema_rampup} must be >= 0, e.g. 0.05 (0: no ramp-up)")
