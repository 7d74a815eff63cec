"""Latent-space maths: seeded noise that is the same on every device, and the walks through it.

Pure functions on tensors (no networks): a seed -> one latent vector, interpolation (lerp, slerp),
sweeps of one dimension or direction, class walks, random walks on the prior's shell, and principal
directions (the GANSpace idea) from activations someone else computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Times = torch.Tensor | Sequence[float] | float


def seeded_noise(n: int, z_dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal noise (n, z_dim), drawn on the CPU from ``seed`` then moved, so a seed
    gives the same latent vectors (and so the same images) on any device. Row i of a batch is not
    ``seed_latent(seed + i)``: use ``seed_latents`` for one image per seed."""
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(n, z_dim, generator=g).to(device)


def seed_latent(seed: int, z_dim: int) -> torch.Tensor:
    """The latent vector of one seed: (z_dim,) float32 standard normal, drawn on the CPU from a
    generator seeded with ``seed`` (the first row of ``seeded_noise(1, z_dim, seed)``). Like a
    world seed: the same number gives the same picture on every machine and in every tool
    (`drawlab sample --seeds`, `drawlab interpolate`, the explorer, ``Drawer.sample(seeds=...)``)."""
    return seeded_noise(1, z_dim, seed)[0]


def seed_latents(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """``seed_latent`` of each seed, stacked: (len(seeds), z_dim)."""
    return torch.stack([seed_latent(s, z_dim) for s in seeds]) if len(seeds) else torch.zeros(0, z_dim)


def seed_label(seed: int, num_classes: int) -> int:
    """The class a seed draws when none is chosen: ``seed % num_classes`` (0 when unconditional)."""
    return int(seed) % num_classes if num_classes > 0 else 0


def balanced_labels(n: int, num_classes: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Labels 0,1,..,K-1,0,1,... (n,) int64: every class equally often; zeros when unlabelled."""
    if num_classes <= 0:
        return torch.zeros(n, dtype=torch.long, device=device)
    return torch.arange(n, device=device) % num_classes


def _times(t: Times, like: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """t as (T, 1, ..., 1) broadcasting against ``like`` (..., D), and whether it was one number."""
    scalar = isinstance(t, (int, float)) or (torch.is_tensor(t) and t.dim() == 0)
    tt = torch.as_tensor(t, dtype=like.dtype, device=like.device).reshape(-1, *([1] * like.dim()))
    return tt, scalar


def lerp(a: torch.Tensor, b: torch.Tensor, t: Times) -> torch.Tensor:
    """Linear interpolation a + t (b - a): a, b (..., D); t a number -> (..., D), or T numbers -> (T, ..., D).
    Exact at the end points (t = 0 gives a, t = 1 gives b, bit for bit)."""
    tt, scalar = _times(t, a)
    a, b = torch.broadcast_tensors(a, b)
    out = torch.where(tt == 1, b, a + (b - a) * tt)
    return out[0] if scalar else out


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _perpendicular(v: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to each v (..., D), D >= 2: the basis axis least aligned with v, made orthogonal."""
    u = _unit(v)
    e = torch.nn.functional.one_hot(u.abs().argmin(-1), u.shape[-1]).to(u.dtype)
    return _unit(e - (e * u).sum(-1, keepdim=True) * u)


PARALLEL = 1 - 1e-6  # cosines beyond this are treated as parallel (lerp) or opposite


def slerp(a: torch.Tensor, b: torch.Tensor, t: Times) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; for GAN latents, White 2016): along the great circle from
    a to b, norms blended like the angle. a, b (..., D); t a number -> (..., D), or T numbers -> (T, ..., D).

    Exact at the end points. Near-parallel vectors fall back to lerp (the arc is a line there). Opposite
    vectors have no single great circle: the path goes through a fixed perpendicular direction (whose norm
    is the mean of the two), a quarter turn each half, so it stays well defined and continuous in t."""
    a, b = torch.broadcast_tensors(a, b)
    tt, scalar = _times(t, a)
    cos = (_unit(a) * _unit(b)).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    so = torch.sin(omega).clamp_min(1e-12)
    out = (torch.sin((1 - tt) * omega) / so) * a + (torch.sin(tt * omega) / so) * b
    out = torch.where(cos > PARALLEL, a + (b - a) * tt, out)
    if bool((cos < -PARALLEL).any()) and a.shape[-1] >= 2:
        p = _perpendicular(a) * (a.norm(dim=-1, keepdim=True) + b.norm(dim=-1, keepdim=True)) / 2
        first = slerp(a, p, (2 * tt).clamp(max=1).flatten())
        second = slerp(p, b, (2 * tt - 1).clamp(min=0).flatten())
        out = torch.where(cos < -PARALLEL, torch.where(tt <= 0.5, first, second), out)
    out = torch.where(tt == 0, a, torch.where(tt == 1, b, out))
    return out[0] if scalar else out


def sweep(z: torch.Tensor, dim: int | torch.Tensor, values: Times) -> torch.Tensor:
    """Move z (D,) along one axis or direction: V latents (V, D).

    ``dim`` an int: that coordinate set to each value (the classic "change one latent dimension");
    a direction (D,): ``z + value * direction`` (use unit directions, e.g. from ``principal_directions``)."""
    v = torch.as_tensor(values, dtype=z.dtype).flatten()
    if isinstance(dim, int):
        if not -z.shape[-1] <= dim < z.shape[-1]:
            raise IndexError(f"dimension {dim} is out of range for a latent of size {z.shape[-1]}")
        out = z.expand(len(v), -1).clone()
        out[:, dim] = v
        return out
    return z + v[:, None] * dim.to(z.dtype)


def class_walk(z: torch.Tensor, labels: Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same z (D,) with each label: (latents (L, D), labels (L,) int64) -- one style, every class."""
    y = torch.as_tensor(labels, dtype=torch.long).flatten()
    return z.expand(len(y), -1).clone(), y


def random_walk(z: torch.Tensor, steps: int, step_size: float = 0.3, seed: int = 0) -> torch.Tensor:
    """A seeded random walk from z (D,): (steps, D), row 0 is z. Each step adds Gaussian noise of
    ``step_size`` per coordinate and is put back on the sphere of z's norm, so the walk stays on the
    prior's shell (a standard normal in D dimensions lies near radius sqrt(D)) instead of drifting out."""
    g = torch.Generator().manual_seed(int(seed))
    r, out = z.norm(), [z]
    for _ in range(steps - 1):
        nxt = out[-1] + step_size * torch.randn(z.shape, generator=g, dtype=z.dtype)
        out.append(nxt * (r / nxt.norm().clamp_min(1e-12)))
    return torch.stack(out)


def principal_directions(z: torch.Tensor, h: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace (Härkönen et al. 2020) for a z-space generator: PCA of hidden activations h (N, H)
    computed from latents z (N, D), carried back to z by least squares (the z-direction that moves the
    activations along each component). Returns (unit directions (k, D), share of the activations'
    variance each component explains (k,)), largest first, each signed so its largest entry is positive.
    k is capped at min(D, H, N - 1).

    The top components come from a seeded subspace iteration on h (power iterations of h h^T on k + 10
    vectors until the leading k axes stop turning, 1 - |cos| < 1e-12 from one step to the next, at most 300
    steps): the components a full SVD of h gives, without its cost when N and H are both in the thousands (a
    DCGAN's first layer is 128 x 7 x 7 = 6,272 wide). Deterministic: the same h gives the same directions."""
    n, d = z.shape
    k = max(1, min(k, d, h.shape[1], n - 1))
    coords, var = _top_components(h.double() - h.double().mean(0), k)
    u = torch.linalg.lstsq(coords, z.double() - z.double().mean(0)).solution  # (k, D): z ~ coords @ u
    return signed_by_largest(_unit(u)).float(), var.float()


def signed_by_largest(u: torch.Tensor) -> torch.Tensor:
    """Rows of u (k, D) each multiplied by the sign of its largest-magnitude entry: the sign a PCA leaves open,
    fixed, so the same directions point the same way however they were computed."""
    return u * torch.sign(u.gather(1, u.abs().argmax(1, keepdim=True)))


def _top_components(h: torch.Tensor, k: int, iters: int = 300, tol: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
    """For centred h (N, H), float64: the coordinates of each row on the k largest principal axes (N, k), and
    each axis's share of the total variance (k,), largest first. Subspace iteration with Rayleigh-Ritz on
    p = min(k + 10, N, H) vectors from a fixed seed; with p = min(N, H) it is exact after one step."""
    p = min(k + 10, *h.shape)
    start = torch.randn(h.shape[1], p, generator=torch.Generator().manual_seed(0), dtype=h.dtype).to(h.device)
    q = torch.linalg.qr(h @ start).Q  # (N, p): an orthonormal basis of where h sends random directions
    last: torch.Tensor | None = None
    for _ in range(max(1, iters)):
        _, s, vt = torch.linalg.svd(q.T @ h, full_matrices=False)  # Rayleigh-Ritz in the basis: (p,), (p, H)
        if last is not None and float(1 - (vt[:k] * last).sum(1).abs().min()) <= tol:
            break
        last = vt[:k]
        q = torch.linalg.qr(h @ vt.T).Q  # one power step: h h^T q, re-orthonormalised
    return h @ vt[:k].T, s[:k] ** 2 / (h * h).sum().clamp_min(1e-30)
