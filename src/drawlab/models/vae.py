"""vae: a convolutional variational autoencoder (Kingma & Welling 2014) that samples from its prior.

The encoder gives a diagonal Gaussian q(z|x) (mean and log-variance); z = mean + sigma * eps (the
reparameterisation, eps from the run's generator); the decoder draws the image. The likelihood is stated,
not hidden: Bernoulli on pixels in [0, 1] for one-channel images (binary cross-entropy, as for MNIST), a
Gaussian with fixed sigma = 0.1 (in [0, 1] pixel units) for colour. The KL term is warmed up linearly from
0 to 1 over ``kl_warmup`` steps (Bowman et al. 2016) so the codes carry information before the prior
pulls them in. Logged per image, in nats: the ELBO, the reconstruction term and the KL term.
Conditional when the data has labels (labels into encoder and decoder): ``sample --label K`` draws class K.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import rng
from .base import Family, register
from .nets import ConvEncoder, ConvGenerator, dcgan_init

KL_WARMUP = 500  # steps of the linear KL warm-up
GAUSSIAN_SIGMA = 0.1  # the Gaussian likelihood's fixed sigma, in [0, 1] pixel units


def bernoulli_nll(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) per image (B,), pixels read as probabilities in [0, 1] (images given in [-1, 1])."""
    p = ((recon.float() + 1) / 2).clamp(1e-6, 1 - 1e-6)
    return F.binary_cross_entropy(p, (x.float() + 1) / 2, reduction="none").flatten(1).sum(1)


def gaussian_nll(recon: torch.Tensor, x: torch.Tensor, sigma: float = GAUSSIAN_SIGMA) -> torch.Tensor:
    """-log N(x; recon, sigma^2) per image (B,), on the [0, 1] pixel scale."""
    d = ((recon.float() - x.float()) / 2).pow(2).flatten(1)
    return (d / (2 * sigma**2) + math.log(sigma * math.sqrt(2 * math.pi))).sum(1)


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per image (B,)."""
    return 0.5 * (mean.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).sum(1)


@register
class VAE(Family):
    name = "vae"
    summary = "convolutional VAE (Bernoulli likelihood for grey, Gaussian for colour, KL warm-up); samples the prior"
    rung = 2.1
    uses_labels = True
    reconstructs = True

    @property
    def likelihood(self) -> str:
        return "bernoulli" if self.shape[0] == 1 else "gaussian"

    def build_networks(self):
        dec = ConvGenerator(self.cfg.z_dim, self.shape, self.cfg.width, self.num_classes)
        enc = ConvEncoder(self.shape, self.cfg.d_width or self.cfg.width, 2 * self.cfg.z_dim, self.num_classes)
        dcgan_init(dec)
        dcgan_init(enc)
        return {"G": dec, "E": enc}

    def _encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.nets["E"](x, self.labels_for(y)).chunk(2, dim=1)
        return mean, logvar.clamp(-12, 8)

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The decoded posterior mean (B, C, H, W)."""
        return self.nets["G"](self._encode(x, y)[0], self.labels_for(y))

    def train_step(self, x, y, gen):
        with self.autocast():
            mean, logvar = self._encode(x, y)
            eps = rng.randn(mean.shape, gen, mean.device, mean.dtype)
            recon = self.nets["G"](mean + (0.5 * logvar).exp() * eps, self.labels_for(y))
        nll = (bernoulli_nll if self.likelihood == "bernoulli" else gaussian_nll)(recon, x).mean()
        kl = kl_to_standard_normal(mean, logvar).mean()
        beta = min(1.0, (self.steps_done + 1) / KL_WARMUP)
        loss = (nll + beta * kl) / math.prod(self.shape)  # per pixel: a learning rate that fits
        self.optimise(loss)
        self.context.steps_done += 1
        self.update_ema(x.shape[0])
        return {
            "loss_g": loss.detach(),
            "elbo": -(nll + kl).detach(),
            "recon_nll": nll.detach(),
            "kl": kl.detach(),
            "kl_weight": torch.tensor(beta),
        }
