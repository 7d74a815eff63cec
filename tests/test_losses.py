"""The losses as objects with phases, D's regularisers, spectral norm, D's normalisation and DiffAugment:
each against its formula, and each trained and resumed exactly through the one training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import resume_to, tiny_cfg, train
from drawlab import augment, losses
from drawlab.config import ModelConfig
from drawlab.models import build_family
from test_training import assert_same_checkpoint


def test_lsgan_wgan_and_relativistic_hinge_formulas() -> None:
    r, f = torch.tensor([0.8, 1.2]), torch.tensor([0.1, -0.3])
    one, zero = torch.ones(2), torch.zeros(2)
    ls = losses.get_loss("lsgan")
    assert ls.d_loss(r, f, one, zero) == pytest.approx(0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean())
    assert ls.g_loss(f) == pytest.approx(0.5 * ((f - 1) ** 2).mean())
    w = losses.get_loss("wgan-gp")
    assert w.d_loss(r, f, one, zero) == pytest.approx(float(f.mean() - r.mean()))
    assert w.g_loss(f) == pytest.approx(float(-f.mean()))
    ra = losses.get_loss("ra-hinge")
    expect_d = torch.relu(1 - (r - f.mean())).mean() + torch.relu(1 + (f - r.mean())).mean()
    expect_g = torch.relu(1 + (r - f.mean())).mean() + torch.relu(1 - (f - r.mean())).mean()
    assert ra.d_loss(r, f, one, zero) == pytest.approx(float(expect_d))
    assert ra.g_loss(f, r) == pytest.approx(float(expect_g))
    assert ra.relativistic and not w.supports_smoothing and ls.supports_smoothing


class Linear(nn.Module):
    """D(x) = <w, x>: its input gradient is w for every image."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, y=None):
        return (x.flatten(1) * self.w).sum(1)


def test_penalties_match_their_formulas_and_train_d() -> None:
    w = torch.full((4,), 1.0)  # ||w|| = 2
    d, gen = Linear(w), torch.Generator().manual_seed(0)
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    gp = losses.GradientPenalty(weight=10.0)
    assert float(gp(d, real, fake, None, gen).detach()) == pytest.approx(10.0 * (2.0 - 1) ** 2)
    r1 = losses.R1(gamma=3.0, every=4)
    assert float(r1(d, real, fake, None, gen).detach()) == pytest.approx(0.5 * 3.0 * 4 * 4.0)
    assert r1.due(8) and not r1.due(9)
    r1(d, real, fake, None, gen).backward()
    assert d.w.grad is not None and d.w.grad.abs().sum() > 0  # the penalty trains D
    obj = losses.Objective(losses.get_loss("wgan-gp"), [gp, r1])
    assert obj.d_reg(d, real, fake, None, gen, step=1) is not None  # GP every step
    assert float(obj.d_reg(d, real, fake, None, gen, step=4).detach()) == pytest.approx(10.0 + 24.0)


def test_relativistic_g_phase_reads_real_images() -> None:
    d = Linear(torch.ones(4))
    obj = losses.Objective(losses.get_loss("ra-hinge"), [])
    fake, real = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert obj.g_main(d, fake, real, None) != obj.g_main(d, fake, real + 5, None)


@pytest.mark.parametrize(
    "kw, norm",
    [
        ({}, nn.BatchNorm2d),
        ({"loss": "wgan-gp"}, nn.GroupNorm),
        ({"r1": 1.0}, None),
        ({"spectral_norm": "d"}, None),
        ({"d_norm": "instance"}, nn.InstanceNorm2d),
    ],
)
def test_d_normalisation_follows_the_loss(kw: dict, norm) -> None:
    fam = build_family(ModelConfig(name="dcgan", z_dim=8, width=4, **kw), (1, 28, 28), 0)
    kinds = {type(m) for m in fam.nets["D"].modules()}
    for k in (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d):
        assert (k in kinds) == (k is norm)


def test_spectral_norm_bounds_the_weights_and_looking_keeps_its_state() -> None:
    fam = build_family(ModelConfig(name="dcgan", z_dim=8, width=4, spectral_norm="both"), (1, 28, 28), 0)
    conv = next(m for m in fam.nets["D"].modules() if isinstance(m, nn.Conv2d))
    fam.nets["D"].train()
    x = torch.randn(8, 1, 28, 28)
    for _ in range(30):  # power iterations converge in training mode
        fam.nets["D"](x)
    sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
    assert float(sigma) == pytest.approx(1.0, abs=0.05)
    before = {k: v.clone() for k, v in fam.nets["D"].state_dict().items()}
    fam.judge(x, None, as_in_training=True)
    assert all(torch.equal(before[k], v) for k, v in fam.nets["D"].state_dict().items())


def test_diffaugment_is_seeded_differentiable_and_does_what_it_says() -> None:
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    pol = augment.parse_policy("color,translation,cutout")
    a = augment.diff_augment(x, pol, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, augment.diff_augment(x, pol, torch.Generator().manual_seed(1)))
    assert torch.equal(augment.diff_augment(x, [], torch.Generator()), x)
    xg = x.clone().requires_grad_(True)
    augment.diff_augment(xg, pol, torch.Generator().manual_seed(1)).sum().backward()
    assert xg.grad is not None and xg.grad.abs().sum() > 0
    cut = augment.cutout(torch.ones(6, 1, 16, 16), torch.Generator().manual_seed(0))
    assert bool(((cut == 0).flatten(1).sum(1) > 0).all()) and bool(((cut == 0).flatten(1).sum(1) <= 64).all())
    ones = torch.zeros(1, 1, 16, 16)
    ones[0, 0, 8, 8] = 1
    moved = augment.translation(ones, torch.Generator().manual_seed(3))
    assert float(moved.sum()) in (0.0, 1.0) and moved.shape == ones.shape  # shifted, never smeared
    with pytest.raises(ValueError, match="blur"):
        augment.parse_policy("color,blur")


def test_diffaugment_treats_every_scale_of_a_pyramid_alike() -> None:
    """MSG-GAN's scales get one draw of each augmentation, scaled to their side: they stay one picture."""
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    pyr = [F.avg_pool2d(x, 8), F.avg_pool2d(x, 4), F.avg_pool2d(x, 2), x]
    out = augment.diff_augment_pyramid(pyr, ["color"], torch.Generator().manual_seed(0))
    for k, o in zip((8, 4, 2), out[:3]):  # colour is per image: pooling commutes with it
        torch.testing.assert_close(F.avg_pool2d(out[-1], k), o, atol=1e-5, rtol=0)
    assert torch.equal(out[-1], augment.diff_augment(x, ["color"], torch.Generator().manual_seed(0)))
    ones = [torch.ones(16, 1, s, s) for s in (4, 8, 16, 32)]
    for name in ("translation", "cutout"):
        o = augment.diff_augment_pyramid(ones, [name], torch.Generator().manual_seed(1))
        blank = [(t == 0).float().mean((1, 2, 3)) for t in o]  # share of each image blanked
        assert bool((blank[-1] > 0).any())
        for b, t in zip(blank[:-1], o[:-1]):  # the same share at every scale, to rounding
            assert torch.allclose(b, blank[-1], atol=2.5 / t.shape[2]), (name, t.shape)


STABILISED = {
    "lsgan": {"loss": "lsgan"},
    "wgan-gp": {"loss": "wgan-gp", "d_steps": 2},
    "ra-hinge": {"loss": "ra-hinge"},
    "r1-lazy": {"r1": 1.0, "r1_every": 2},
    "sn-both": {"spectral_norm": "both"},
    "diffaugment": {"diffaugment": "color,translation,cutout"},
    "hinge-sn-augment": {"loss": "hinge", "spectral_norm": "d", "diffaugment": "translation"},
    "msggan-gp-augment-noise": {
        "name": "msggan",
        "loss": "wgan-gp",
        "instance_noise": 0.1,
        "instance_noise_steps": 4,  # explicit: a 2-step run resolves "the run's length" to 2, a 4-step one to 4
        "diffaugment": "color,translation,cutout",
    },
}


@pytest.mark.parametrize("case", list(STABILISED))
def test_each_loss_and_stabiliser_trains_and_resumes_exactly(case: str, tmp_path: Path) -> None:
    cfg = tiny_cfg("mnist-5k", name="cgan", log_every=1, checkpoint_every=2, steps=2)
    for k, v in STABILISED[case].items():
        setattr(cfg.model, k, v)
    a, b = tmp_path / "a", tmp_path / "b"
    train(cfg, a)
    res, _ = resume_to(a, steps=4)
    assert res.step == 4
    cfg.steps = 4
    train(cfg, b)
    assert_same_checkpoint(a, b, 4)
