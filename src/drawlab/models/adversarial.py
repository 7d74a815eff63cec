"""The base of the families with a discriminator (registers nothing): G and D trained against each other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .. import losses
from ..augment import diff_augment, parse_policy
from ..config import ModelConfig
from ..modes import in_mode
from . import tricks
from .base import Family
from .context import FamilyContext


class AdversarialFamily(Family):
    """G and D trained against each other. One step: ``d_steps`` D updates on (real, G(z)), then
    ``g_steps`` G updates, with the stabilising tricks of ``models/tricks.py`` as the config asks
    (D alone for the first ``d_pretrain_steps`` steps; swapped, noisy or flipped inputs to D)."""

    adversarial = True

    def __init__(
        self, cfg: ModelConfig, shape: tuple[int, int, int], num_classes: int, context: FamilyContext | None = None
    ):
        self.loss = losses.get_loss(cfg.loss or self.default_loss or "nonsaturating")
        self.objective = losses.Objective(self.loss, losses.penalties_for(cfg))  # every penalty the config turns on
        super().__init__(cfg, shape, num_classes, context)
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
            x, full_size(fake), tricks.swap_count(self.cfg, x.shape[0], self.steps_done, self.context.steps_per_epoch)
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
        self.context.steps_done += 1
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
        out = []
        with in_mode(D, training=as_in_training), _statistics_kept(D):
            for i in range(0, len(images), batch):
                yb = labels[i : i + batch].to(device) if self.conditional and labels is not None else None
                with self.autocast():
                    out.append(D(images[i : i + batch].to(device), yb).float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def generate_training(self, z: torch.Tensor, y: torch.Tensor | None, batch: int = 128) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] from the *training* generator as D meets them (training mode,
        batches of ``batch``; running statistics left untouched)."""
        G, out = self.nets["G"], []
        with _statistics_kept(G):
            for i in range(0, len(z), batch):
                with self.autocast():
                    yb = y[i : i + batch] if self.conditional and y is not None else None
                    out.append(G(z[i : i + batch], yb).float())
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
