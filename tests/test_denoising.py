"""The denoisers (flow, ddpm): known answers of their schedules and samplers, their U-Net, and how they sample
through every drawing tool (steps, guidance, sampler; one line for what does not apply)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from conftest import tiny_cfg, train
from drawlab.config import ModelConfig
from drawlab.errors import ConfigError
from drawlab.models import build_family, schedules
from drawlab.models.unet import UNet, resolutions


def one_point_velocity(x1: torch.Tensor):
    """The exact flow-matching velocity when the data is the single image x1: v(x, t) = (x1 - x) / (1 - t)."""
    return lambda x, t: (x1 - x) / (1 - t.view(-1, 1, 1, 1)).clamp_min(1e-12)


def one_point_noise(x0: torch.Tensor, abar: torch.Tensor):
    """The exact DDPM noise prediction when the data is the single image x0."""
    T = len(abar)

    def predict(x, t):
        a = abar[int(round(float(t[0]) * T))].item()
        return (x - math.sqrt(a) * x0) / math.sqrt(1 - a)

    return predict


def test_flow_pair_goes_from_noise_at_0_to_data_at_1() -> None:
    x1, x0 = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    xt, v = schedules.flow_pair(x1, x0, torch.tensor([0.0, 1.0]))
    assert torch.equal(xt[0], x0[0]) and torch.equal(xt[1], x1[1]) and torch.equal(v, x1 - x0)


@pytest.mark.parametrize("shift", [1.0, 3.0])
@pytest.mark.parametrize("sampler", schedules.FLOW_SAMPLERS)
@pytest.mark.parametrize("steps", [1, 3, 20])
def test_flow_sampler_with_the_exact_velocity_lands_on_the_data(sampler: str, steps: int, shift: float) -> None:
    x1 = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    z = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    out = schedules.flow_sample(one_point_velocity(x1), z, steps, "euler", shift=shift)
    assert torch.allclose(out, x1, atol=1e-5)
    if sampler == "euler":  # the ODE run backwards from the data: at t = 0 the velocity is x1 - x0, exactly
        back = schedules.flow_invert(lambda x, t: x1 - z, x1, steps, sampler, shift)
        assert torch.allclose(back, z, atol=1e-5)


def test_the_shifted_grid_puts_its_steps_near_the_noise() -> None:
    assert schedules.flow_times(4) == [0.0, 0.25, 0.5, 0.75, 1.0]
    ts = schedules.flow_times(20, 3.0)
    assert ts[0] == 0.0 and ts[-1] == 1.0 and ts == sorted(ts)
    assert ts[10] == pytest.approx(0.25) and ts[19] == pytest.approx(0.95 / 1.1)  # u / (u + 3 (1 - u))
    assert sum(t < 0.5 for t in ts) == 15  # three in four steps in the noisy half, against half at shift 1


def test_x_prediction_is_read_as_the_velocity_it_implies_by_the_loss_and_the_sampler() -> None:
    fam = build_family(ModelConfig(name="flow", width=8, prediction="x"), (1, 4, 4), 0)
    x1 = torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x, t = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(1)), torch.tensor([0.0, 0.5, 0.99])
    v = fam.as_target(x1.expand(3, -1, -1, -1), x, t)
    assert torch.allclose(v[:2], one_point_velocity(x1)(x, t)[:2], atol=1e-6)
    assert torch.allclose(v[2], (x1[0] - x[2]) / 0.05)  # 1 - t = 0.01 is read as 0.05: bounded near the data
    z = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    out = schedules.flow_sample(lambda x, t: fam.as_target(x1.expand_as(x), x, t), z, 10, "euler")
    assert torch.allclose(out, x1.expand_as(out), atol=1e-5)  # the exact x answer lands on the data
    # trained on the velocity its answer implies: the zero-initialised U-Net (x1^ = 0) is scored as -x_t/(1-t)
    pair = fam.training_pair(x1.expand(3, -1, -1, -1), torch.Generator().manual_seed(3))
    zero_v = -pair.inp / (1 - pair.t.view(-1, 1, 1, 1)).clamp_min(0.05)
    loss = fam.per_image_loss(fam.nets["G"], pair, None)
    assert torch.allclose(loss, (zero_v - pair.target).pow(2).flatten(1).mean(1), rtol=1e-5)
    plain = build_family(ModelConfig(name="flow", width=8), (1, 4, 4), 0)
    assert plain.prediction == "velocity" and torch.equal(plain.as_target(x, x1, t), x)


def test_logit_normal_times_lie_mostly_in_the_noisy_half_and_uniform_ones_are_unchanged() -> None:
    gen = torch.Generator().manual_seed(0)
    t = schedules.flow_train_times(20_000, "logit-normal", gen, "cpu")
    assert 0 < float(t.min()) and float(t.max()) < 1
    assert float(t.median()) == pytest.approx(1 / (1 + math.exp(0.8)), abs=0.01)  # sigmoid(-0.8) = 0.31
    assert float((t < 0.5).float().mean()) == pytest.approx(0.84, abs=0.01)  # P(N(-0.8, 0.8) < 0) = Phi(1)
    a = schedules.flow_train_times(5, "uniform", torch.Generator().manual_seed(1), "cpu")
    assert torch.equal(a, torch.rand(5, generator=torch.Generator().manual_seed(1)))  # runs before it: same t
    for name in ("ddpm", "cgan"):
        with pytest.raises(ConfigError, match=f"--time-sampling is an option of flow only, not of {name}"):
            build_family(ModelConfig(name=name, time_sampling="logit-normal"), (1, 8, 8), 10)


def test_trailing_spacing_starts_at_pure_noise() -> None:
    assert schedules.trailing_steps(10) == [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
    assert schedules.trailing_steps(1) == [999] and schedules.trailing_steps(1000) == list(range(999, -1, -1))


@pytest.mark.parametrize("schedule", schedules.SCHEDULES)
def test_alpha_bars_fall_from_almost_1_to_almost_0(schedule: str) -> None:
    a = schedules.alpha_bars(schedule)
    assert a.shape == (1000,) and bool((a[1:] < a[:-1]).all())
    assert 0.999 < float(a[0]) < 1 and float(a[-1]) < 1e-4
    if schedule == "linear":
        assert float(a[0]) == pytest.approx(1 - 1e-4)


@pytest.mark.parametrize("sampler", schedules.DDPM_SAMPLERS)
def test_ddim_and_ancestral_with_the_exact_noise_reach_the_data(sampler: str) -> None:
    abar = schedules.alpha_bars("cosine")
    x0 = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8
    z = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    out = schedules.ddpm_sample(one_point_noise(x0, abar), z, 10, abar, sampler, noise=lambda i: torch.randn_like(z))
    assert torch.allclose(out, x0, atol=1e-4)


def one_point_v(x0: torch.Tensor, abar: torch.Tensor):
    """The exact v prediction (sqrt(abar) eps - sqrt(1 - abar) x0) when the data is the single image x0."""
    eps_of = one_point_noise(x0, abar)
    T = len(abar)

    def predict(x, t):
        a = abar[int(round(float(t[0]) * T))].item()
        return math.sqrt(a) * eps_of(x, t) - math.sqrt(1 - a) * x0

    return predict


@pytest.mark.parametrize("schedule", schedules.SCHEDULES)
@pytest.mark.parametrize("sampler", schedules.DDPM_SAMPLERS)
def test_v_prediction_with_the_exact_v_reaches_the_data_from_the_first_step(schedule: str, sampler: str) -> None:
    """v is well posed at pure noise: one DDIM step already lands on x0, which eps cannot do under cosine."""
    abar = schedules.alpha_bars(schedule)
    x0 = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8
    z = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    noise = lambda i: torch.randn_like(z)  # noqa: E731
    out = schedules.ddpm_sample(one_point_v(x0, abar), z, 10, abar, sampler, noise=noise, prediction="v")
    assert torch.allclose(out, x0, atol=1e-4)
    first = schedules.ddpm_sample(one_point_v(x0, abar), z, 1, abar, "ddim", prediction="v")
    assert torch.allclose(first, x0, atol=1e-4)
    off = one_point_noise(x0, abar)  # the exact noise, off by 1e-3: under eps, x0^ = (x - .. eps) / sqrt(abar)
    bad = schedules.ddpm_sample(lambda x, t: off(x, t) + 1e-3, z, 1, abar, "ddim")
    assert (bad - x0).abs().max() > (0.05 if schedule == "cosine" else 1e-3)


def test_the_v_target_is_what_split_prediction_inverts() -> None:
    abar = schedules.alpha_bars("cosine")
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.rand(3, 1, 4, 4, generator=g) * 2 - 1, torch.randn(3, 1, 4, 4, generator=g)
    s = torch.tensor([0, 500, 999])
    xs, _ = schedules.ddpm_pair(x0, eps, s, abar)
    v = schedules.ddpm_target(x0, eps, s, abar, "v")
    assert torch.equal(schedules.ddpm_target(x0, eps, s, abar, "eps"), eps)
    for i in range(3):
        got_x0, got_eps = schedules.split_prediction(v[i : i + 1], xs[i : i + 1], float(abar[s[i]]), "v")
        assert torch.allclose(got_x0, x0[i : i + 1], atol=1e-5) and torch.allclose(got_eps, eps[i : i + 1], atol=1e-5)


def test_the_ddpm_pair_mixes_data_and_noise_by_the_schedule() -> None:
    abar = schedules.alpha_bars("linear")
    x0, eps = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    xs, t = schedules.ddpm_pair(x0, eps, torch.tensor([999]), abar)
    assert torch.allclose(xs, abar[999].sqrt().float() * x0) and float(t) == pytest.approx(0.999)


@pytest.mark.parametrize(("size", "levels"), [(28, 3), (32, 3), (64, 4), (8, 2), (16, 2)])
def test_the_unet_keeps_the_image_shape_at_every_size(size: int, levels: int) -> None:
    assert resolutions(size) == levels
    for c, k in ((1, 10), (3, 0)):
        net = UNet(c, size, 8, k)
        x = torch.randn(2, c, size, size)
        y = torch.tensor([0, 1]) if k else None
        assert net(x, torch.rand(2), y).shape == x.shape


@pytest.mark.parametrize(("size", "patch"), [(8, 2), (64, 4), (28, 2)])
def test_a_patched_unet_folds_pixel_blocks_into_channels_and_back(size: int, patch: int) -> None:
    net = UNet(3, size, 8, 0, patch=patch)
    assert net.stem.in_channels == 3 * patch * patch  # the first conv reads the folded blocks
    torch.nn.init.normal_(net.out[-1].weight)
    x = torch.randn(2, 3, size, size)
    y = net(x, torch.rand(2))
    assert y.shape == x.shape
    assert torch.equal(net.unfold(net.fold(x)), x)  # a block unfolds to the P x P pixels it came from


def test_a_patch_that_does_not_divide_the_image_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"--patch 3 does not divide the 8x8 images"):
        build_family(ModelConfig(name="flow", width=8, patch=3), (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="applies to the denoisers|an option of"):
        build_family(ModelConfig(name="dcgan", patch=2), (1, 8, 8), 10)
    assert build_family(ModelConfig(name="ddpm", width=8, patch=2), (1, 8, 8), 10).nets["G"].stem.in_channels == 4


def test_the_unet_starts_by_predicting_zero_and_reads_the_time_and_the_label() -> None:
    net = UNet(1, 8, 8, 3)
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(net(x, torch.rand(2), torch.tensor([0, 1])), torch.zeros_like(x))
    torch.nn.init.normal_(net.out[-1].weight)
    a = net(x[:1], torch.tensor([0.2]), torch.tensor([0]))
    assert not torch.allclose(a, net(x[:1], torch.tensor([0.8]), torch.tensor([0])))
    assert not torch.allclose(a, net(x[:1], torch.tensor([0.2]), torch.tensor([2])))
    assert not torch.allclose(a, net(x[:1], torch.tensor([0.2]), None))  # None: the "no label" row


def _family(name: str, classes: int = 10, **kw):
    cfg = tiny_cfg("mnist-5k", name=name, **kw).model
    return build_family(cfg, (1, 8, 8), classes)


def test_guidance_mixes_the_conditional_and_unconditional_predictions() -> None:
    fam = _family("flow")
    torch.nn.init.normal_(fam.nets["G"].out[-1].weight)
    y = torch.tensor([3, 4])
    x, t = torch.randn(2, 1, 8, 8), torch.full((2,), 0.5)
    g = fam.sampler().eval()
    cond, uncond = g(x, t, y), g(x, t, torch.full_like(y, 10))
    fam.set_sampling(guidance=3.0)
    assert torch.allclose(fam.predictor(y)(x, t), uncond + 3.0 * (cond - uncond), atol=1e-4)
    fam.set_sampling(guidance=1.0)
    assert torch.allclose(fam.predictor(y)(x, t), cond, atol=1e-6)


def test_guidance_in_an_interval_guides_only_the_steps_whose_noise_level_is_in_it() -> None:
    """10 Euler steps start at noise levels 1.0, 0.9, ..., 0.1: [0.4, 0.6] guides three of them (two passes
    each), the other seven make one pass; the images differ from guidance everywhere and from none."""
    fam = _family("flow")
    torch.nn.init.normal_(fam.nets["G"].out[-1].weight, std=0.1)
    seen: list[int] = []
    fam.sampler().register_forward_hook(lambda m, args, out: seen.append(args[0].shape[0]))
    z, y = torch.randn(4, 64, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3])
    drawn = {}
    for name, interval in (("all", (0.0, 1.0)), ("part", (0.4, 0.6)), ("none", None)):
        seen.clear()
        if interval is None:
            fam.set_sampling(sample_steps=10, guidance=1.0, guidance_low=0.0, guidance_high=1.0)
        else:
            fam.set_sampling(sample_steps=10, guidance=2.0, guidance_low=interval[0], guidance_high=interval[1])
        drawn[name] = fam.generate(z, y)
        assert sum(seen) == {"all": 80, "part": 52, "none": 40}[name], (name, seen)
    assert not torch.allclose(drawn["part"], drawn["all"]) and not torch.allclose(drawn["part"], drawn["none"])
    fam.set_sampling(guidance=2.0, guidance_low=0.4, guidance_high=0.6)
    assert fam.sampling_tag() == "-euler10-cfg2i0.4-0.6"
    assert fam.sampling()["guidance_interval"] == [0.4, 0.6]
    fam.set_sampling(guidance_low=1e-5)
    assert fam.sampling_tag() == "-euler10-cfg2i0-0.6"  # never an exponent's "-": names split on it
    fam.set_sampling(guidance_low=0.4)
    from drawlab.config import guidance_words

    assert guidance_words({"guidance": 1.25}) == "1.25"  # a record from before the interval existed
    assert guidance_words({"guidance": 2.0, "guidance_interval": [0.2, 0.8]}) == "2 at noise levels 0.2-0.8"
    assert guidance_words({"guidance": 2.0, "guidance_interval": [0.0, 1.0]}) == "2"
    with pytest.raises(ConfigError, match=r"^--guidance-low 0.7 is above --guidance-high 0.6: guidance would apply"):
        fam.set_sampling(guidance_low=0.7)
    with pytest.raises(ConfigError, match=r"^--guidance-high must be in \[0, 1\], got 1.5$"):
        fam.set_sampling(guidance_high=1.5)
    with pytest.raises(ConfigError, match="^--guidance-low/--guidance-high apply to the denoisers"):
        build_family(ModelConfig(name="cgan", guidance_low=0.2), (1, 8, 8), 10)
    with pytest.raises(TypeError, match="not steps"):
        fam.set_sampling(steps=3)


def test_a_noise_level_is_the_same_noise_on_flow_and_on_either_ddpm_schedule() -> None:
    """Flow's level n mixes x = (1 - n) x0 + n eps: noise over signal n / (1 - n). DDPM's level at step s has
    the same ratio, sqrt((1 - abar_s) / abar_s), on the cosine and the linear schedule; it runs from ~0 at
    s = 0 to ~1 at s = T - 1, and a level is not s / T (at s = T / 2 the linear schedule is mostly noise)."""
    assert torch.allclose(_family("flow").noise_level(torch.tensor([0.0, 0.25, 1.0])), torch.tensor([1.0, 0.75, 0.0]))
    s = torch.tensor([0, 100, 250, 500, 750, 999])
    for schedule in ("cosine", "linear"):
        ddpm = build_family(ModelConfig(name="ddpm", width=8, schedule=schedule), (1, 8, 8), 10)
        level, a = ddpm.noise_level(s / 1000), ddpm.abar[s]
        assert torch.allclose(level / (1 - level), ((1 - a) / a).sqrt(), rtol=1e-3), schedule
        assert level[0] < 0.05 and level[-1] > 0.95 and bool((level.diff() > 0).all()), schedule
    linear = build_family(ModelConfig(name="ddpm", width=8, schedule="linear"), (1, 8, 8), 10)
    assert float(linear.noise_level(torch.tensor([0.5]))) > 0.7


def test_label_dropout_replaces_that_share_of_labels_by_no_label() -> None:
    fam = _family("ddpm")
    y = torch.randint(0, 10, (4000,), generator=torch.Generator().manual_seed(0))
    dropped = fam.dropped(y, torch.Generator().manual_seed(1))
    assert dropped is not None
    share = float((dropped == 10).float().mean())
    assert 0.08 < share < 0.12 and torch.equal(dropped[dropped != 10], y[dropped != 10])


def test_the_latent_is_the_noise_image_and_one_seed_gives_one_image() -> None:
    fam = _family("ddpm")
    torch.nn.init.normal_(fam.nets["G"].out[-1].weight, std=0.1)
    assert type(fam).latent_dim(fam.cfg, (1, 8, 8)) == 64
    z = torch.randn(3, 64, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([1, 2, 3])
    fam.set_sampling(sample_steps=4, sampler="ddpm")  # even the stochastic sampler: its noise follows each image's z
    batch = fam.generate(z, y)
    alone = fam.generate(z[1:2], y[1:2])
    assert torch.allclose(batch[1:2], alone, atol=1e-5) and batch.shape == (3, 1, 8, 8)


def test_sampling_options_are_checked_in_one_line_each() -> None:
    flow, gan = _family("flow"), _family("dcgan")
    with pytest.raises(ConfigError, match="flow samples with euler or heun"):
        flow.set_sampling(sampler="ddim")
    with pytest.raises(ConfigError, match=r"--sample-steps must be in \[1, 1000\]"):
        flow.set_sampling(sample_steps=0)
    with pytest.raises(ConfigError, match="applies to the denoisers"):
        gan.set_sampling(sample_steps=5)
    with pytest.raises(ConfigError, match="needs a conditional model"):
        _family("flow", classes=0).set_sampling(guidance=2.0)
    assert flow.sampling_tag() == "-euler20" and gan.sampling_tag() == ""
    flow.set_sampling(sample_steps=10, guidance=2.0, sampler="heun")
    assert flow.sampling_tag() == "-heun10-cfg2"
    flow.set_sampling(sample_shift=3.0)
    assert flow.sampling_tag() == "-heun10s3-cfg2" and flow.sampling()["shift"] == 3.0
    with pytest.raises(ConfigError, match=r"^--sample-shift must be in \[0.1, 100\]"):
        flow.set_sampling(sample_shift=0.0)
    with pytest.raises(ConfigError, match="^--sample-shift is an option of flow only, not of ddpm: drop it$"):
        _family("ddpm").set_sampling(sample_shift=3.0)
    with pytest.raises(ConfigError, match="^--sample-shift is an option of flow only, not of ddpm: drop it$"):
        build_family(ModelConfig(name="ddpm", sample_shift=3.0), (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="applies to the denoisers"):
        build_family(ModelConfig(name="dcgan", guidance=2.0), (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="--schedule is an option of ddpm only"):
        build_family(ModelConfig(name="cgan", schedule="linear"), (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="^--prediction v: flow predicts velocity or x$"):
        build_family(ModelConfig(name="flow", prediction="v"), (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="^--prediction x: ddpm predicts eps or v$"):
        build_family(ModelConfig(name="ddpm", prediction="x"), (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="^--prediction applies to the denoisers"):
        build_family(ModelConfig(name="cgan", prediction="x"), (1, 8, 8), 10)


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flow") / "r"
    cfg = tiny_cfg("mnist-5k", name="flow", steps=3)
    cfg.model.sample_steps = 2
    train(cfg, out)
    return out


def test_a_flow_run_records_its_noise_image_latent_and_samples_with_the_asked_steps(flow_run: Path) -> None:
    import drawlab
    from drawlab.run import RunDir

    cfg, _ = RunDir(flow_run).read_config()
    assert cfg.model.z_dim == 28 * 28 and cfg.model.sample_steps == 2
    d = drawlab.load(flow_run, sample_steps=3)
    assert d.family.cfg.sample_steps == 3
    a = d.sample(seeds=[5, 6])
    assert a.shape == (2, 28, 28) and (d.sample(seeds=[5, 6]) == a).all()
    d.sample(2, seed=0, sample_steps=1)
    assert d.family.cfg.sample_steps == 3  # a call's own steps are for that call only
    with pytest.raises(ConfigError, match="principal directions"):
        from drawlab.explore import principal_directions_of

        principal_directions_of(d, k=2)


def test_drawing_commands_take_the_sampling_options_and_refuse_bad_ones(flow_run: Path, cgan_run: Path, capsys) -> None:
    from drawlab.cli import main

    import json

    import numpy as np
    from PIL import Image

    out = flow_run.parent / "s.npz"
    assert main(["sample", str(flow_run), "--n", "3", "--sample-steps", "1", "--guidance", "2", "--out", str(out)]) == 0
    assert "euler 1 steps, guidance 2)" in capsys.readouterr().out
    with np.load(out) as z:  # the samples say how they were drawn (no pickle needed to read it)
        made = json.loads(str(z["made"]))
    want = {"sampler": "euler", "steps": 1, "guidance": 2.0, "guidance_interval": [0.0, 1.0], "shift": 1.0}
    assert made["sampling"] == want and made["seed"] == 0
    args = ["--guidance", "2", "--guidance-low", "0.2", "--guidance-high", "0.8", "--out", str(out)]
    assert main(["sample", str(flow_run), "--n", "3", *args]) == 0
    assert "guidance 2 at noise levels 0.2-0.8)" in capsys.readouterr().out
    with np.load(out) as z:
        assert json.loads(str(z["made"]))["sampling"]["guidance_interval"] == [0.2, 0.8]
    import drawlab

    drawer = drawlab.load(flow_run, guidance=2.0, guidance_low=0.2, guidance_high=0.8)  # the Python API takes them
    assert drawer.family.sampling()["guidance_interval"] == [0.2, 0.8]
    assert drawer.sample(2, guidance_low=0.5).shape == (2, 28, 28)  # for one call only
    assert drawer.family.sampling()["guidance_interval"] == [0.2, 0.8]
    with pytest.raises(ConfigError, match="^--guidance-low 0.9 is above --guidance-high 0.8"):
        drawer.sample(2, guidance_low=0.9)
    bad = ["--guidance-low", "0.9", "--guidance-high", "0.1", "--data", "folder:/no/such/folder"]
    assert main(["train", "--model", "flow", *bad, "--out", str(flow_run.parent / "never")]) == 2  # before any data
    assert "--guidance-low 0.9 is above --guidance-high 0.1" in capsys.readouterr().err
    png = flow_run.parent / "s.png"
    assert main(["sample", str(flow_run), "--seeds", "3-5", "--sampler", "heun", "--out", str(png)]) == 0
    with Image.open(png) as im:
        made = json.loads(im.text["drawlab"])
    assert made["seeds"] == [3, 4, 5] and "seed" not in made and made["sampling"]["sampler"] == "heun"
    assert made["model"] == "flow" and made["sampling"]["steps"] == 2  # the run's own steps where none asked
    capsys.readouterr()
    for args in (
        ["sample", str(flow_run), "--sample-steps", "0"],
        ["sample", str(flow_run), "--sampler", "ddim"],
        ["sample", str(cgan_run), "--sample-steps", "5"],
        ["interpolate", str(flow_run), "--guidance", "nan"],
        ["evaluate", str(flow_run), "--sample-steps", "0"],
        ["evaluate", str(cgan_run), "--guidance", "2"],
        ["serve", str(flow_run), "--sampler", "ancestral", "--port", "0"],
        ["serve", str(flow_run), "--sample-shift", "-1", "--port", "0"],
        ["sample", str(flow_run), "--guidance", "2", "--guidance-low", "0.9", "--guidance-high", "0.1"],
        ["evaluate", str(flow_run), "--guidance-high", "1.5"],
    ):
        with pytest.raises(SystemExit) as e:
            code = main(args)
            raise SystemExit(code)
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and len(err.splitlines()) == 1, (args, err)


def test_the_denoisers_pictures_from_the_command_line(flow_run: Path, cgan_run: Path, capsys) -> None:
    """interpolate --mode trajectory / nfe and inspect --invert write their pictures with the promised columns;
    a one-pass generator gets one line."""
    import numpy as np

    from drawlab.cli import main

    out = flow_run.parent
    assert (
        main(
            [
                "interpolate",
                str(flow_run),
                "--mode",
                "trajectory",
                "--seeds",
                "1,2",
                "--steps",
                "3",
                "--out",
                str(out / "t.npz"),
            ]
        )
        == 0
    )
    t = np.load(out / "t.npz")
    assert t["frames"].shape == (2, 3, 28, 28) and list(t["cols"]) == ["t=0.00", "t=0.50", "t=1.00"]
    assert main(["sample", str(flow_run), "--seeds", "1,2", "--out", str(out / "s.npz")]) == 0
    assert (t["frames"][:, -1] == np.load(out / "s.npz")["images"]).all()  # the last column is the sample
    assert main(["interpolate", str(flow_run), "--mode", "nfe", "--seeds", "3", "--out", str(out / "n.gif")]) == 0
    assert (out / "n.gif").stat().st_size > 0
    assert main(["inspect", str(flow_run), "--invert", "--sample-steps", "2", "--out", str(out / "i.png")]) == 0
    assert "mean absolute error" in capsys.readouterr().out and (out / "i.png").is_file()
    assert main(["interpolate", str(cgan_run), "--mode", "nfe"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "draws in one pass" in err


def test_bucket_losses_are_the_mean_loss_at_each_noise_level() -> None:
    from drawlab.models.denoising import NOISE_BUCKETS, bucket_losses, noise_bucket_key

    per_image = torch.tensor([1.0, 3.0, 10.0, 0.0, 0.0])
    noise = torch.tensor([0.05, 0.15, 0.99, 1.0, 0.5])  # buckets 0, 0, 4, 4 (1.0 is the last bucket), 2
    got = bucket_losses(per_image, noise)
    assert list(got) == [noise_bucket_key(k) for k in range(NOISE_BUCKETS)]
    # each bucket's sum over B / 5 = 1 expected image per bucket: its mean over many steps is that level's loss
    assert [float(v) for v in got.values()] == [4.0, 0.0, 0.0, 0.0, 10.0]
    assert sum(float(v) for v in got.values()) / NOISE_BUCKETS == pytest.approx(float(per_image.mean()))


def test_a_denoiser_run_logs_its_loss_per_noise_level_and_the_report_draws_it(flow_run: Path) -> None:
    from drawlab.files import read_jsonl
    from drawlab.records.figures import noise_loss_table, write_figures
    from drawlab.run import RunDir

    run = RunDir(flow_run)
    train_recs = [r for r in read_jsonl(run.metrics) if "loss_g" in r]
    assert train_recs and all(f"loss_noise_{k}" in r for r in train_recs for k in range(5))
    table = noise_loss_table(train_recs)
    assert len(table) == min(3, len(train_recs)) and all(len(v) == 5 and all(x > 0 for x in v) for _, v in table)
    assert run.monitor / "noise_loss.png" in write_figures(run)
    from drawlab.report import build_report

    page = build_report(flow_run, out=flow_run.parent / "report.html", gallery=False).read_text()
    assert "Loss per noise level" in page and "noise_loss.png" not in page  # inlined, self-contained
    assert "<h2>Losses</h2>" in page and "euler, 2 steps" in page  # its own config rows, no D
    assert "D&#x27;s outputs" not in page and "D's outputs" not in page and "learning rates G / D" not in page
    assert noise_loss_table([{"step": 1, "loss_g": 1.0}]) == []  # a GAN's records: no such figure


@pytest.mark.parametrize("prediction", schedules.PREDICTIONS)
def test_ddpm_regresses_what_prediction_names(prediction: str) -> None:
    """The zero-initialised U-Net predicts 0: the first loss is the mean square of the target it was given."""
    from drawlab import rng

    fam = build_family(ModelConfig(name="ddpm", width=8, prediction=prediction), (1, 8, 8), 10)
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(5)) * 2 - 1
    y = torch.tensor([0, 1, 2, 3])
    loss = float(fam.train_step(x, y, torch.Generator().manual_seed(7))["loss_g"])
    gen = torch.Generator().manual_seed(7)  # the step's own draws, in its order
    eps = rng.randn(tuple(x.shape), gen, x.device)
    s = rng.randint(0, schedules.T_STEPS, (4,), gen, x.device)
    target = schedules.ddpm_target(x, eps, s, fam.abar, prediction)
    assert loss == pytest.approx(float(target.pow(2).mean()), rel=1e-5)
    if prediction == "v":
        assert not torch.allclose(target, eps)
