"""ae: a convolutional autoencoder that generates by decoding codes drawn from a Gaussian fitted to the
training codes (full covariance), the "autoencoder as a generator" rung of the ladder.

Training: pixel MSE between x and decoder(encoder(x)). The Gaussian is a running estimate (an exponential
moving average over the last ~100 batches) of the codes' mean and covariance, kept as buffers of the
sampling network, so checkpoints, EMA and resume carry it. Sampling maps a standard normal latent z to the
code mean + L z (L L^T = covariance), so seeds, interpolations and the explorer work unchanged.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .. import losses
from .base import Family, register
from .nets import ConvEncoder, ConvGenerator, dcgan_init

MOMENTUM = 0.01  # weight of each batch in the running code statistics (~100 batches)


class FittedGaussianDecoder(nn.Module):
    """(z (B, D) standard normal, y) -> images: decodes mean + L z, the codes' fitted Gaussian."""

    code_mean: torch.Tensor  # (D,) buffers
    code_cov: torch.Tensor  # (D, D)

    def __init__(self, decoder: nn.Module, dim: int):
        super().__init__()
        self.decoder = decoder
        self.register_buffer("code_mean", torch.zeros(dim))
        self.register_buffer("code_cov", torch.eye(dim))

    @torch.no_grad()
    def observe(self, codes: torch.Tensor) -> None:
        """Move the running mean and covariance towards those of a batch of codes (B, D)."""
        c = codes.detach().float()
        mean = c.mean(0)
        cov = torch.cov(c.T) if len(c) > 1 else torch.zeros_like(self.code_cov)
        self.code_mean.lerp_(mean, MOMENTUM)
        self.code_cov.lerp_(cov + torch.outer(mean - self.code_mean, mean - self.code_mean), MOMENTUM)

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(len(self.code_mean), device=z.device)
        chol = torch.linalg.cholesky(self.code_cov.float() + 1e-5 * eye)
        return self.code_mean + z.float() @ chol.T

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.codes(z).to(z.dtype), y)


@register
class AE(Family):
    name = "ae"
    summary = "convolutional autoencoder; samples decode codes from a Gaussian fitted to the training codes"
    rung = 2.0
    reconstructs = True

    def build_networks(self):
        dec = ConvGenerator(self.cfg.z_dim, self.shape, self.cfg.width)
        enc = ConvEncoder(self.shape, self.cfg.d_width or self.cfg.width, self.cfg.z_dim)
        dcgan_init(dec)
        dcgan_init(enc)
        return {"G": FittedGaussianDecoder(dec, self.cfg.z_dim), "E": enc}

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """decoder(encoder(x)) (B, C, H, W) with the training networks."""
        return self.decoder(self.nets["E"](x))

    @property
    def decoder(self) -> nn.Module:
        """The decoder inside G (the fitted-Gaussian wrapper's)."""
        return cast(FittedGaussianDecoder, self.nets["G"]).decoder

    def train_step(self, x, y, gen):
        with self.autocast():
            codes = self.nets["E"](x)
            loss = losses.pixel_mse(self.decoder(codes), x)
        self.optimise(loss)
        cast(FittedGaussianDecoder, self.nets["G"]).observe(codes)
        self.context.steps_done += 1
        self.update_ema(x.shape[0])
        return {"loss_g": loss.detach(), "recon_mse": loss.detach()}
