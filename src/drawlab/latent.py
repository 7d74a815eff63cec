"""Latent-space maths: seeded noise that is the same on every device."""
from __future__ import annotations

import torch


def seeded_noise(n: int, z_dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal noise (n, z_dim), drawn on the CPU from ``seed`` then moved, so a seed
    gives the same latent vectors (and so the same images) on any device."""
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(n, z_dim, generator=g).to(device)


def balanced_labels(n: int, num_classes: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Labels 0,1,..,K-1,0,1,... (n,) int64: every class equally often; zeros when unlabelled."""
    if num_classes <= 0:
        return torch.zeros(n, dtype=torch.long, device=device)
    return torch.arange(n, device=device) % num_classes


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Linear interpolation a + t (b - a)."""
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latent vectors (..., z_dim); falls back to lerp when parallel."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    out = (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
    return torch.where(so.abs() < 1e-6, lerp(a, b, t), out)
