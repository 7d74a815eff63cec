"""Tests for the model families (registry, shapes, one step, sampling), the losses and latent maths."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from drawlab import losses
from drawlab.config import ModelConfig, TrainConfig
from drawlab.errors import ConfigError
from drawlab.latent import balanced_labels, lerp, seeded_noise, slerp
from drawlab.models import REGISTRY, build_family, list_models
from drawlab.models.nets import stage_channels, stage_plan

SHIPPED = ["mlp-mse", "conv-mse", "ae", "vae", "gan", "dcgan", "cgan", "msggan"]  # the ladder as drawlab ships it
FAMILIES = [name for name, _ in list_models()]  # every registered family: a new file is tested too
SHAPES = [(1, 28, 28), (3, 64, 64), (1, 32, 32), (3, 30, 30)]
NUM_CLASSES = 3


def tiny(name: str, **kw) -> ModelConfig:
    return ModelConfig(name=name, z_dim=8, width=4, **kw)


def real_batch(shape, b: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, *shape, generator=g) * 2 - 1
    y = torch.arange(b) % NUM_CLASSES
    return x, y


# ---------------------------------------------------------------- registry and sizes


def test_registry_lists_the_ladder_in_order() -> None:
    rungs = [REGISTRY[name].rung for name in FAMILIES]
    assert rungs == sorted(rungs) and set(FAMILIES) == set(REGISTRY)
    assert [name for name in FAMILIES if name in SHIPPED] == SHIPPED  # the shipped ladder, in its order
    for name, summary in list_models():
        assert summary and "\n" not in summary
        assert REGISTRY[name].name == name


def test_unknown_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown model .stylegan9.*cgan.*dcgan"):
        build_family(tiny("stylegan9"), (1, 28, 28), 10)


@pytest.mark.parametrize(
    "size, plan", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (48, (6, 3)), (25, (25, 0)), (30, (15, 1)), (8, (4, 1))]
)
def test_stage_plan(size: int, plan: tuple[int, int]) -> None:
    assert stage_plan(size) == plan
    start, k = plan
    assert start * 2**k == size


def test_stage_channels_double_towards_the_start_and_cap() -> None:
    assert stage_channels(8, 3) == [32, 16, 8]
    assert stage_channels(64, 2) == [128, 64]
    assert stage_channels(300, 3) == [512, 512, 300]
    assert stage_channels(8, 0) == [8]


# ---------------------------------------------------------------- every family on every shape


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", FAMILIES)
def test_family_builds_steps_and_generates(name: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    fam = build_family(tiny(name), shape, NUM_CLASSES)
    assert fam.name == name and fam.shape == shape
    assert "G" in fam.nets and set(fam.opts) <= set(fam.nets)
    adversarial = REGISTRY[name].adversarial
    assert ("D" in fam.nets) == adversarial
    assert fam.conditional == REGISTRY[name].uses_labels  # labelled data here: a family that can use labels does
    assert fam.num_classes == (NUM_CLASSES if fam.conditional else 0)

    x, y = real_batch(shape)
    g_before = [p.detach().clone() for p in fam.nets["G"].parameters()]
    metrics = fam.train_step(x, y, torch.Generator().manual_seed(1))
    from drawlab.models.denoising import NOISE_BUCKETS, noise_bucket_key

    per_noise = {noise_bucket_key(k) for k in range(NOISE_BUCKETS)}  # the denoisers' loss per noise level
    extra = {"ae": {"recon_mse"}, "vae": {"elbo", "recon_nll", "kl", "kl_weight"}, "flow": per_noise, "ddpm": per_noise}
    extra = extra.get(name, set())
    readout = fam.readout if adversarial else None  # the family's own loss decides what D's numbers are called
    expected = {"loss_g", "loss_d", *readout.keys} if readout else {"loss_g", *extra}
    assert set(metrics) == expected
    for k, v in metrics.items():
        assert torch.is_tensor(v) and v.ndim == 0 and not v.requires_grad, k
        assert math.isfinite(float(v)), k
    if readout is not None and readout.scale is losses.Scale.PROBABILITY:
        assert 0 <= float(metrics["d_real"]) <= 1 and 0 <= float(metrics["d_fake"]) <= 1
    assert fam.steps_done == 1
    assert any(not torch.equal(a, b) for a, b in zip(g_before, fam.nets["G"].parameters())), "G did not learn"

    z = seeded_noise(5, REGISTRY[name].latent_dim(fam.cfg, shape), seed=3)  # the denoisers: a noise image
    labels = torch.tensor([0, 1, 2, 0, 1])
    out = fam.generate(z, labels)
    assert out.shape == (5, *shape) and out.dtype == torch.float32
    assert float(out.min()) >= -1 and float(out.max()) <= 1
    assert float(out.std()) > 0
    assert fam.nets["G"].training, "generate must leave G in training mode"


@pytest.mark.parametrize(
    "name, ema", [("dcgan", 0.0), ("cgan", 0.0), ("cgan", 40.0), ("conv-mse", 0.0), ("gan", 0.0), ("flow", 0.0)]
)
def test_generate_is_deterministic_and_batch_independent(name: str, ema: float) -> None:
    torch.manual_seed(0)
    shape = (1, 28, 28)
    fam = build_family(tiny(name, ema_images=ema), shape, NUM_CLASSES)
    gen = torch.Generator().manual_seed(0)
    for s in range(2):  # train a little so that BatchNorm's running statistics are not the defaults
        fam.train_step(*real_batch(shape, b=8, seed=s), gen)
    if REGISTRY[name].latent_is_image:  # its output layer starts at zero: two steps barely move it
        torch.nn.init.normal_(fam.sampler().out[-1].weight, std=0.1)
    z = seeded_noise(6, REGISTRY[name].latent_dim(fam.cfg, shape), seed=11)
    y = torch.tensor([2, 0, 1, 1, 0, 2])
    a, b = fam.generate(z, y), fam.generate(z.clone(), y.clone())
    assert torch.equal(a, b)
    for i in range(6):  # eval-mode BatchNorm: a sample does not depend on the rest of its batch
        alone = fam.generate(z[i : i + 1], y[i : i + 1])
        torch.testing.assert_close(alone[0], a[i], rtol=0, atol=1e-5)
    # and generate really depends on z
    assert not torch.allclose(a[0], a[1])
    if fam.conditional:  # ... and on the label
        other = fam.generate(z, (y + 1) % NUM_CLASSES)
        assert not torch.allclose(other, a)


def test_conditional_discriminator_sees_the_label() -> None:
    torch.manual_seed(0)
    fam = build_family(tiny("cgan"), (1, 28, 28), NUM_CLASSES)
    x, y = real_batch((1, 28, 28), b=6)
    fam.train_step(x, y, torch.Generator().manual_seed(0))
    D = fam.nets["D"].eval()
    with torch.no_grad():
        assert not torch.allclose(D(x, y), D(x, (y + 1) % NUM_CLASSES))
    plain = build_family(tiny("dcgan"), (1, 28, 28), NUM_CLASSES)  # unconditional: labels are ignored
    D = plain.nets["D"].eval()
    with torch.no_grad():
        assert torch.equal(D(x, None), plain.nets["D"](x, y))


def test_ema_generator_is_used_for_sampling_and_averages() -> None:
    torch.manual_seed(0)
    fam = build_family(tiny("dcgan", ema_images=4), (1, 28, 28), 0)  # half-life = one batch of 4
    assert fam.sampler() is fam.nets["G_ema"] and "G_ema" not in fam.opts
    assert not any(p.requires_grad for p in fam.nets["G_ema"].parameters())
    g0 = [p.detach().clone() for p in fam.nets["G"].parameters()]
    fam.train_step(*real_batch((1, 28, 28), b=4), torch.Generator().manual_seed(0))
    for pe, p, p0 in zip(fam.nets["G_ema"].parameters(), fam.nets["G"].parameters(), g0):
        torch.testing.assert_close(pe, 0.5 * p0 + 0.5 * p.detach())


def test_ema_is_defined_in_images_seen_with_a_rampup() -> None:
    """The EMA forgets at the same rate per image whatever the batch size, and its half-life grows with the
    images seen up to ``ema_images`` under a ramp-up (a copy of G at the start)."""
    fam = build_family(tiny("dcgan", ema_images=1000), (1, 28, 28), 0)
    for b1, b2 in ((16, 64), (32, 128)):  # 4,096 images in steps of b1 or of b2: the same total decay
        n = 4096
        decay1 = (1 - fam.ema_weight(10_000, b1)) ** (n // b1)
        decay2 = (1 - fam.ema_weight(10_000, b2)) ** (n // b2)
        assert decay1 == pytest.approx(decay2, rel=1e-9) and decay1 == pytest.approx(0.5 ** (n / 1000), rel=1e-9)
    ramp = build_family(tiny("dcgan", ema_images=1000, ema_rampup=0.5), (1, 28, 28), 0)
    assert ramp.ema_weight(0, 8) == 1.0  # no images yet: a copy
    assert ramp.ema_weight(10, 8) == pytest.approx(1 - 0.5 ** (8 / 40))  # half-life 0.5 x 80 images
    assert ramp.ema_weight(10_000, 8) == fam.ema_weight(10_000, 8)  # ramp over: ema_images


def test_old_ema_settings_become_the_same_half_life() -> None:
    """config.json written before EMA was counted in images still loads, with the same per-step decay."""
    old = {"model": {"name": "cgan", "ema": 0.99, "ema_start": 100}, "batch_size": 128}
    m = TrainConfig.from_dict(old).model
    assert m.ema_rampup == 0.5 and 0.5 ** (128 / m.ema_images) == pytest.approx(0.99, abs=1e-5)
    assert TrainConfig.from_dict({"model": {"ema": 0.0}}).model.ema_images == 0.0


def test_needs_labels_and_option_checks() -> None:
    for classes in (0, 1):
        with pytest.raises(ConfigError, match="cgan needs labelled data"):
            build_family(tiny("cgan"), (1, 28, 28), classes)
    unlabelled = build_family(tiny("mlp-mse"), (1, 28, 28), 0)  # reconstruction works unlabelled
    assert not unlabelled.conditional
    with pytest.raises(ConfigError, match="unknown loss"):
        build_family(tiny("dcgan", loss="wasserstein"), (1, 28, 28), 0)
    with pytest.raises(ConfigError, match="d-steps"):
        build_family(tiny("dcgan", d_steps=0), (1, 28, 28), 0)
    with pytest.raises(ConfigError, match="ema"):
        build_family(tiny("dcgan", ema_images=-1.0), (1, 28, 28), 0)


@pytest.mark.parametrize("kw", [{"loss": "hinge"}, {"d_steps": 2}, {"label_smoothing": 0.1}, {"d_width": 6}])
def test_adversarial_options_step(kw: dict) -> None:
    torch.manual_seed(0)
    fam = build_family(tiny("dcgan", **kw), (1, 32, 32), 0)
    d_before = [p.detach().clone() for p in fam.nets["D"].parameters()]
    m = fam.train_step(*real_batch((1, 32, 32)), torch.Generator().manual_seed(0))
    assert all(math.isfinite(float(v)) for v in m.values())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, fam.nets["D"].parameters()))
    if "d_width" in kw:
        assert fam.nets["D"].body[0].out_channels == 6


def test_adam_settings_follow_the_config() -> None:
    fam = build_family(tiny("dcgan", lr_g=1e-3, lr_d=3e-4, beta1=0.4), (1, 28, 28), 0)
    assert fam.opts["G"].param_groups[0]["lr"] == 1e-3 and fam.opts["D"].param_groups[0]["lr"] == 3e-4
    assert fam.opts["G"].param_groups[0]["betas"] == (0.4, 0.999)


# ---------------------------------------------------------------- losses


LOGITS_R = torch.tensor([2.0, 0.5, -1.0])
LOGITS_F = torch.tensor([-2.0, 0.0, 1.0])


NS, HINGE = losses.get_loss("nonsaturating"), losses.get_loss("hinge")


def _t(v: float, n: int = 3) -> torch.Tensor:
    return torch.full((n,), v)


def test_d_loss_nonsaturating_is_bce() -> None:
    sig = torch.sigmoid
    expect = -torch.log(sig(LOGITS_R)).mean() - torch.log(1 - sig(LOGITS_F)).mean()
    torch.testing.assert_close(NS.d_loss(LOGITS_R, LOGITS_F, _t(1), _t(0)), expect)
    smoothed = (-(0.9 * torch.log(sig(LOGITS_R)) + 0.1 * torch.log(1 - sig(LOGITS_R)))).mean() - torch.log(
        1 - sig(LOGITS_F)
    ).mean()
    torch.testing.assert_close(NS.d_loss(LOGITS_R, LOGITS_F, _t(0.9), _t(0)), smoothed)
    # stable for huge logits (BCE on logits, never log(sigmoid))
    big = NS.d_loss(torch.tensor([100.0]), torch.tensor([-100.0]), _t(1, 1), _t(0, 1))
    assert math.isfinite(float(big)) and float(big) < 1e-6
    assert math.isfinite(float(NS.d_loss(torch.tensor([-100.0]), torch.tensor([100.0]), _t(1, 1), _t(0, 1))))
    # a flipped target swaps the two BCE terms of that image
    flipped = NS.d_loss(LOGITS_R, LOGITS_F, torch.tensor([0.0, 1.0, 1.0]), _t(0))
    expect_f = (-torch.log(1 - sig(LOGITS_R[:1])).sum() - torch.log(sig(LOGITS_R[1:])).sum()) / 3 - torch.log(
        1 - sig(LOGITS_F)
    ).mean()
    torch.testing.assert_close(flipped, expect_f)


def test_g_loss_nonsaturating() -> None:
    expect = -torch.log(torch.sigmoid(LOGITS_F)).mean()
    torch.testing.assert_close(NS.g_loss(LOGITS_F), expect)
    torch.testing.assert_close(NS.g_loss(torch.zeros(4)), torch.tensor(math.log(2)))


def test_hinge_losses() -> None:
    # relu(1 - [2, .5, -1]) = [0, .5, 2] -> 5/6 ; relu(1 + [-2, 0, 1]) = [0, 1, 2] -> 1
    torch.testing.assert_close(HINGE.d_loss(LOGITS_R, LOGITS_F, _t(1), _t(0)), torch.tensor(5 / 6 + 1))
    torch.testing.assert_close(HINGE.g_loss(LOGITS_F), torch.tensor(1 / 3))
    assert float(HINGE.d_loss(torch.tensor([1.5]), torch.tensor([-3.0]), _t(1, 1), _t(0, 1))) == 0.0
    # a flipped real target: relu(1 + 2) for the first real image
    torch.testing.assert_close(
        HINGE.d_loss(LOGITS_R, LOGITS_F, torch.tensor([0.0, 1.0, 1.0]), _t(0)), torch.tensor((3 + 0.5 + 2) / 3 + 1)
    )


def test_readouts_say_what_d_outputs_mean() -> None:
    assert NS.readout.keys == ("d_real", "d_fake") and NS.readout.names == ("D(x)", "D(G(z))")
    assert HINGE.readout.keys == ("logit_real", "logit_fake") and "D(x)" not in HINGE.readout.names
    torch.testing.assert_close(NS.readout.values(torch.zeros(2)), torch.full((2,), 0.5))
    torch.testing.assert_close(HINGE.readout.values(LOGITS_R), LOGITS_R)
    assert NS.readout.wins(0.99, 0.01) and not NS.readout.wins(0.9, 0.01)
    assert HINGE.readout.wins(1.5, -1.5) and not HINGE.readout.wins(0.99, 0.01)


def test_roc_auc_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(60, generator=g) + 1, torch.randn(40, generator=g)
    real[:5] = fake[:5]  # ties count half
    brute = sum(float(r > f) + 0.5 * float(r == f) for r in real for f in fake) / (60 * 40)
    assert losses.roc_auc(real, fake) == pytest.approx(brute, abs=1e-12)
    assert losses.roc_auc(torch.ones(3), torch.zeros(3)) == 1.0
    assert losses.roc_auc(torch.zeros(3), torch.ones(3)) == 0.0
    assert losses.roc_auc(torch.ones(4), torch.ones(4)) == 0.5


def test_pixel_mse() -> None:
    a, b = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5)
    assert float(losses.pixel_mse(a, b)) == pytest.approx(0.25)
    assert float(losses.pixel_mse(b, b)) == 0.0
    torch.testing.assert_close(losses.pixel_mse(a, b), F.mse_loss(a, b))


# ---------------------------------------------------------------- latent maths


def test_seeded_noise_is_reproducible() -> None:
    a, b = seeded_noise(5, 7, seed=42), seeded_noise(5, 7, seed=42)
    assert a.shape == (5, 7) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.equal(a, b)
    assert not torch.equal(a, seeded_noise(5, 7, seed=43))
    torch.manual_seed(0)
    c = seeded_noise(5, 7, seed=42)
    torch.manual_seed(1)
    assert torch.equal(c, a), "the global RNG must not matter"
    assert torch.equal(seeded_noise(5, 7, seed=42), a)


def test_balanced_labels() -> None:
    assert balanced_labels(7, 3).tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert balanced_labels(4, 0).tolist() == [0, 0, 0, 0]
    assert balanced_labels(4, 3).dtype == torch.int64


def test_slerp_endpoints_and_norm() -> None:
    a, b = seeded_noise(3, 16, seed=0), seeded_noise(3, 16, seed=1)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    ex, ey = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = slerp(ex, ey, 0.5)
    torch.testing.assert_close(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    assert float(mid.norm()) == pytest.approx(1.0)  # lerp would give norm 0.707
    parallel = slerp(ex, 2 * ex, 0.5)  # parallel vectors: falls back to lerp, no NaN
    assert torch.isfinite(parallel).all()
    torch.testing.assert_close(parallel, lerp(ex, 2 * ex, 0.5))


@pytest.mark.parametrize("name, extra", [("ae", "recon"), ("vae", "recon"), ("msggan", "scales")])
def test_reconstruction_and_scale_grids_are_written_by_their_monitors(name: str, extra: str, tmp_path: Path) -> None:
    """Autoencoders write samples/recon-step-N.png (fixed real images above, their reconstructions below)
    beside each sample grid; MSG-GAN writes samples/scales-step-N.png (one row per scale)."""
    from PIL import Image

    from conftest import tiny_cfg, train

    train(tiny_cfg("mnist-5k", name=name, steps=2, sample_every=1), tmp_path / "r")
    samples = tmp_path / "r" / "samples"
    for step in (1, 2):
        assert (samples / f"step-{step:07d}.png").is_file()
        w, h = Image.open(samples / f"{extra}-step-{step:07d}.png").size
        assert (w - 2) % 58 == 0 and (h - 2) % 58 == 0, (w, h)  # tiles of 56 px (28 x 2) with 2 px gaps
        cols, rows = (w - 2) // 58, (h - 2) // 58
        assert cols == 10 and rows == (2 if extra == "recon" else 3), (cols, rows)  # 7, 14 and 28 px scales
    assert not list(samples.glob("scales-*" if extra == "recon" else "recon-*"))
