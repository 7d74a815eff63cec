"""The latent toolkit: pure functions, checked against what they promise."""

from __future__ import annotations

import math

import pytest
import torch

from drawlab.latent import (
    _top_components,  # the subspace iteration itself
    class_walk,
    lerp,
    principal_directions,
    random_walk,
    seed_label,
    seed_latent,
    seed_latents,
    seeded_noise,
    slerp,
    sweep,
)


def test_seed_latent_is_fixed_and_independent_of_the_other_seeds() -> None:
    a = seed_latent(42, 16)
    assert a.shape == (16,) and a.dtype == torch.float32
    assert torch.equal(a, seed_latent(42, 16))
    assert torch.equal(a, seeded_noise(1, 16, 42)[0])
    assert torch.equal(seed_latents([3, 42], 16)[1], a)  # the other seeds in the list do not matter
    assert not torch.equal(a, seed_latent(43, 16))
    assert seed_label(17, 10) == 7 and seed_label(17, 0) == 0


def test_lerp_batched_and_exact_at_the_ends() -> None:
    a, b = torch.randn(2, 8), torch.randn(2, 8)
    out = lerp(a, b, torch.linspace(0, 1, 5))
    assert out.shape == (5, 2, 8)
    assert torch.equal(out[0], a) and torch.equal(out[-1], b)
    torch.testing.assert_close(out[2], (a + b) / 2)
    assert lerp(a, b, 0.25).shape == (2, 8)


@pytest.mark.parametrize("case", ["random", "near_parallel", "parallel", "opposite", "near_opposite"])
def test_slerp_exact_ends_no_nan_and_on_the_arc(case: str) -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(64, generator=g)
    b = {
        "random": torch.randn(64, generator=g),
        "near_parallel": a + 1e-5 * torch.randn(64, generator=g),
        "parallel": 2 * a,
        "opposite": -a,
        "near_opposite": -a + 1e-6 * torch.randn(64, generator=g),
    }[case]
    t = torch.linspace(0, 1, 33)
    out = slerp(a, b, t)
    assert out.shape == (33, 64) and torch.isfinite(out).all()
    assert torch.equal(out[0], a) and torch.equal(out[-1], b)
    steps = (out[1:] - out[:-1]).norm(dim=1)  # continuous: no jump along the path
    assert steps.max() < 4 * steps.mean() + 1e-6
    if case in ("random", "opposite", "near_opposite"):  # norms stay near the sphere, unlike lerp's middle
        assert out.norm(dim=1).min() > 0.9 * min(a.norm(), b.norm())


def test_slerp_quarter_circle_and_batches() -> None:
    ex, ey = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(slerp(ex, ey, 0.5), torch.tensor([1.0, 1.0]) / math.sqrt(2))
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    out = slerp(a, b, [0.0, 0.3, 1.0])
    assert out.shape == (3, 3, 5)
    for i in range(3):  # a batch is each pair on its own
        torch.testing.assert_close(out[1, i], slerp(a[i], b[i], 0.3))


def test_sweep_dimension_and_direction() -> None:
    z = torch.randn(6)
    s = sweep(z, 2, [-3, 0, 3])
    assert s.shape == (3, 6) and s[:, 2].tolist() == [-3, 0, 3]
    assert torch.equal(s[:, [0, 1, 3, 4, 5]], z[[0, 1, 3, 4, 5]].expand(3, -1))
    d = torch.zeros(6)
    d[4] = 1
    torch.testing.assert_close(sweep(z, d, [1.0])[0], z + d)
    with pytest.raises(IndexError):
        sweep(z, 6, [0.0])


def test_class_walk_keeps_z() -> None:
    z = torch.randn(4)
    zs, y = class_walk(z, range(10))
    assert zs.shape == (10, 4) and y.tolist() == list(range(10)) and torch.equal(zs[7], z)


def test_random_walk_starts_at_z_and_stays_on_the_shell() -> None:
    z = seed_latent(1, 100)
    w = random_walk(z, 50, 0.5, seed=3)
    assert w.shape == (50, 100) and torch.equal(w[0], z)
    torch.testing.assert_close(w.norm(dim=1), z.norm().expand(50))
    assert (w[1:] - w[:-1]).norm(dim=1).min() > 0  # it moves
    assert torch.equal(w, random_walk(z, 50, 0.5, seed=3))  # seeded


def test_principal_directions_find_the_dominant_direction() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2000, 8, generator=g)
    w = torch.randn(8, 20, generator=g) * 0.1
    w[3] *= 40  # z[3] drives most of the activations' variance
    h = torch.relu(z @ w)
    dirs, share = principal_directions(z, h, 3)
    assert dirs.shape == (3, 8) and share.shape == (3,)
    torch.testing.assert_close(dirs.norm(dim=1), torch.ones(3))
    assert abs(float(dirs[0, 3])) > 0.95 and share[0] > 0.5 and bool((share[:-1] >= share[1:]).all())


@pytest.mark.parametrize("width", [6, 40], ids=["narrow-layer", "wide-layer"])
def test_principal_directions_equal_those_of_a_full_svd(width: int) -> None:
    """Known answer: the subspace iteration (exact at once for a layer narrower than k + 10, iterated for a wider
    one) gives the directions and shares a full SVD of the centred activations gives, up to the sign it leaves
    open; a single power step does not; the same activations give the same directions twice."""
    g = torch.Generator().manual_seed(1)
    z = torch.randn(30, 5, generator=g)
    h = torch.tanh(z @ (torch.randn(5, width, generator=g) * torch.linspace(3, 0.2, width)))
    dirs, share = principal_directions(z, h, 4)
    c = h.double() - h.double().mean(0)
    _, s, vt = torch.linalg.svd(c, full_matrices=False)
    u = torch.linalg.lstsq(c @ vt[:4].T, z.double() - z.double().mean(0)).solution
    u = u / u.norm(dim=1, keepdim=True)
    torch.testing.assert_close(share.double(), s[:4] ** 2 / (s**2).sum(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close((dirs.double() * u).sum(1).abs(), torch.ones(4, dtype=torch.float64), rtol=0, atol=1e-5)
    assert bool((dirs.gather(1, dirs.abs().argmax(1, keepdim=True)) > 0).all())  # the sign fixed
    assert all(torch.equal(a, b) for a, b in zip(principal_directions(z, h, 4), (dirs, share)))
    if width > 14:  # wider than k + 10: iterated, and one step is not enough
        _, rough = _top_components(c, 4, iters=1)
        assert not torch.allclose(rough, s[:4] ** 2 / (s**2).sum(), rtol=1e-5, atol=1e-7)
