"""Principal directions of a generator (GANSpace, Härkönen et al. 2020), cached in the run.

The activations of G's first hidden layer (the output of its first activation function: for the
DCGAN generators, the projected and normalised z, (B, c0 * 4 * 4)) over a few thousand latents; their
principal components carried back to z by least squares, as unit vectors. Moving z along direction k
changes the picture along the k-th largest way the generator's first layer varies; for conditional
generators, the variation within each class (each class's mean is taken out first), since z cannot
change the label. A sweep value v moves z by v prior standard deviations along the direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..api import Drawer
from ..errors import ConfigError
from ..files import atomic_write
from ..latent import balanced_labels, principal_directions, seeded_noise, signed_by_largest
from ..modes import evaluating

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.GELU, nn.ELU, nn.Tanh, nn.Sigmoid)
SAMPLES, SEED = 3000, 12345


@dataclass
class Directions:
    """Unit directions in z (k, z_dim), the share of variance of each (k,), and where they came from."""

    vectors: torch.Tensor
    share: torch.Tensor
    layer: str


class _Stop(Exception):
    pass


def first_hidden_layer(g: nn.Module) -> tuple[str, nn.Module]:
    """(name, module) of G's first activation function (else its first Linear or conv layer)."""
    named = list(g.named_modules())
    for kinds in (ACTIVATIONS, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        for name, m in named:
            if isinstance(m, kinds) and not name.startswith("cond"):
                return name, m
    raise ValueError(f"{type(g).__name__} has no layer to take principal directions from")


@torch.no_grad()
def hidden_activations(drawer: Drawer, z: torch.Tensor, y: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, str]:
    """The first hidden layer's output (N, H) for latents z (N, D) and labels y (N,), stopping the
    forward pass there (eval mode, so each row depends on its own latent only)."""
    g = drawer.family.sampler()
    name, layer = first_hidden_layer(g)
    grabbed: list[torch.Tensor] = []

    def hook(_m, _inp, out):
        grabbed.append(out.detach().float().flatten(1).cpu().clone())
        raise _Stop

    handle = layer.register_forward_hook(hook)
    device = next(g.parameters()).device
    try:
        with evaluating(g):
            for i in range(0, len(z), batch):
                try:
                    g(z[i : i + batch].to(device), y[i : i + batch].to(device) if drawer.conditional else None)
                except _Stop:
                    pass
    finally:
        handle.remove()
    return torch.cat(grabbed), name


def principal_directions_of(drawer: Drawer, k: int = 10, n: int = SAMPLES, cache: bool = True) -> Directions:
    """The top-k principal directions of ``drawer``'s generator in z, from ``n`` seeded latents
    (classes balanced for conditional models, each centred on its own mean); cached as RUN/explore/directions-step{S}-n{n}.safetensors.
    The denoisers (flow, ddpm) have no first layer of a latent vector: one line says so."""
    if drawer.family.latent_is_image:
        raise ConfigError(
            f"principal directions (GANSpace) read a generator's first layer of z; {drawer.family.name}'s latent "
            "is its initial noise image: walk it with --mode slerp, lerp, walk or sweep --dim"
        )
    path = drawer.run.explore / f"directions-step{drawer.step}-n{n}.safetensors" if drawer.run else None
    if cache and path is not None and path.is_file():
        try:
            t = load_file(str(path))
            if t["vectors"].shape[0] >= k and t["vectors"].shape[1] == drawer.z_dim:
                return Directions(signed_by_largest(t["vectors"][:k]), t["share"][:k], "cached")  # older caches too
        except Exception:
            pass
    z, y = seeded_noise(n, drawer.z_dim, SEED), balanced_labels(n, drawer.num_classes)
    h, layer = hidden_activations(drawer, z, y)
    if drawer.conditional:  # the variation within a class: z cannot move the label's share of it
        for c in range(drawer.num_classes):
            h[y == c] -= h[y == c].mean(0)
    vectors, share = principal_directions(z, h, k)
    if cache and path is not None and not (drawer.run is not None and drawer.run.read_only):  # a pretrained folder
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"vectors": vectors.contiguous(), "share": share.contiguous()}
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"layer": layer, "n": str(n)}))
    return Directions(vectors, share, layer)
