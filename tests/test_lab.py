"""The 2D lab: its data, known-answer scores, the game (determinism, rewind, fork, live changes replayed),
the verdicts (each branch forced), the Dirac-GAN, the CLI and its one-line refusals."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from drawlab.cli import main
from drawlab.errors import ConfigError, DataError
from drawlab.lab import dirac as dg
from drawlab.lab import verdicts as vd
from drawlab.lab.dists import DISTS, get_dist, grid_means, points_dist, points_from_png, ring_means
from drawlab.lab.game import Lab, Record
from drawlab.lab.metrics import mode_scores, reached, scores, sliced_wasserstein, swing
from drawlab.lab.settings import LIVE, Settings, from_json, replace
from drawlab.lab.updates import mlp, pack, unrolled
from drawlab.lab.view import view
from drawlab.losses import CRITIC, LOSSES, PROBABILITY

TINY = dict(steps=40, batch=32, g_width=16, d_width=16, g_depth=2, d_depth=2, eval_every=10)


def tiny(**changes) -> Settings:
    return replace(Settings(), **{**TINY, **changes})


def _weights(lab: Lab) -> torch.Tensor:
    nets = [lab.g] if lab.d is None else [lab.g, lab.d]
    return torch.cat([p.detach().flatten() for n in nets for p in n.parameters()])


# -- data ----------------------------------------------------------------------------------------------
def test_ring_has_8_distinct_means_on_the_unit_circle_and_the_grid_25() -> None:
    m = ring_means()
    assert m.shape == (8, 2) and torch.allclose(m.norm(dim=1), torch.ones(8), atol=1e-6)
    assert torch.pdist(m).min() > 0.7  # 2 sin(pi / 8) = 0.765: no mean repeated (the linspace pitfall)
    g = grid_means()
    assert g.shape == (25, 2) and sorted(set(g[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    d = DISTS["ring8"]
    x = d.sample(4000, torch.Generator().manual_seed(0))
    dist, _ = torch.cdist(x, m).min(1)
    assert 0.008 < float(dist.pow(2).mean().sqrt() / math.sqrt(2)) < 0.012  # std 0.01 per axis


@pytest.mark.parametrize("name", list(DISTS))
def test_every_distribution_samples_the_same_points_for_the_same_seed(name: str) -> None:
    d = get_dist(name)
    a, b = (d.sample(500, torch.Generator().manual_seed(3)) for _ in range(2))
    c = d.sample(500, torch.Generator().manual_seed(4))
    assert a.shape == (500, 2) and a.dtype == torch.float32 and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.abs().max()) < d.extent  # the plane drawn holds the data


def test_unknown_distribution_and_bad_points_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown distribution 'ring9'"):
        get_dist("ring9")
    with pytest.raises(DataError, match="at least 2 points"):
        points_dist(torch.zeros(1, 2))
    with pytest.raises(DataError, match="no such file"):
        points_from_png(tmp_path / "nope.png")
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="not an image"):
        points_from_png(tmp_path / "x.png")


def test_points_from_a_png_are_its_dark_pixels(tmp_path: Path) -> None:
    from PIL import Image

    img = Image.new("L", (10, 10), 255)
    img.putpixel((0, 0), 0)  # top left
    img.putpixel((9, 9), 0)  # bottom right
    img.save(tmp_path / "p.png")
    p = points_from_png(tmp_path / "p.png")
    assert p.shape == (2, 2)
    assert p[0].tolist() == pytest.approx([-0.9, 0.9]) and p[1].tolist() == pytest.approx([0.9, -0.9])


# -- scores (known answers) ----------------------------------------------------------------------------
def test_mode_scores_known_answers() -> None:
    m, s = ring_means(), 0.01
    on_all = m.repeat(10, 1)
    assert mode_scores(on_all, m, s) == {"modes": 8.0, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0)}
    one = m[:1].repeat(80, 1)
    r = mode_scores(one, m, s)
    assert r["modes"] == 1 and r["high_quality"] == 1 and r["reverse_kl"] == pytest.approx(math.log(8))
    half = torch.cat([m[:4].repeat(10, 1), torch.zeros(40, 2)])  # 4 modes, half the points in the middle
    r = mode_scores(half, m, s)
    assert r["modes"] == 4 and r["high_quality"] == 0.5 and r["reverse_kl"] == pytest.approx(math.log(2))
    off = m * 1.05  # 5 std from every mode: near, not high quality
    assert mode_scores(off, m, s)["modes"] == 0 and reached(off.repeat(10, 1), m) == list(range(8))


def test_sliced_wasserstein_known_answers() -> None:
    x = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    assert sliced_wasserstein(x, x) == 0
    # a shift by d along x: every projection shifts by d cos(angle); mean cos^2 over the half circle = 1/2
    assert sliced_wasserstein(x + torch.tensor([0.3, 0.0]), x) == pytest.approx(0.3 / math.sqrt(2), rel=0.01)
    assert set(scores(x, x, None, None)) == {"swd"}
    assert set(scores(x, x, ring_means(), 0.01)) == {"swd", "modes", "high_quality", "reverse_kl"}


def test_swing_known_answers() -> None:
    """A centre going round a circle of radius 0.6 three times: along its main axis a sine of range ~1.2, three
    periods; the same centre standing still under batch noise: no swing; too short a path: zeros."""
    t = torch.linspace(0, 3 * 2 * math.pi, 600)
    circle = 0.6 * torch.stack([t.cos(), t.sin()], 1)
    w = swing(circle, spread=1.0)
    assert w["cycles"] == 3 and w["amplitude"] == pytest.approx(1.2, rel=0.03) and w["clarity"] > 100
    assert swing(circle, spread=2.0)["amplitude"] == pytest.approx(w["amplitude"] / 2)
    still = torch.randn(600, 2, generator=torch.Generator().manual_seed(0)) * 0.05
    quiet = swing(still, spread=1.0)
    assert quiet["amplitude"] < 0.1 and quiet["clarity"] < 8  # it crosses often, but never far nor clearly
    assert swing(circle[:10], spread=1.0) == {"amplitude": 0.0, "cycles": 0.0, "clarity": 0.0}


# -- the game --------------------------------------------------------------------------------------------
def test_same_settings_same_run_and_another_seed_another() -> None:
    a, b, c = Lab(tiny()), Lab(tiny()), Lab(tiny(seed=1))
    for lab in (a, b, c):
        lab.step(20)
    assert torch.equal(_weights(a), _weights(b)) and not torch.equal(_weights(a), _weights(c))
    assert [r.metrics for r in a.history] == [r.metrics for r in b.history]
    assert [r.step for r in a.history] == [0, 10, 20]


def test_a_step_is_d_steps_d_updates_then_g_steps_g_updates() -> None:
    lab = Lab(tiny(d_steps=3, g_steps=2))
    said = [lab.sub_step() for _ in range(5)]
    assert said == ["D", "D", "D", "G", "G"] and lab.step_no == 1 and lab.sub_no == 0


@pytest.mark.parametrize("changes", [{}, {"unroll": 2, "spectral_norm": True, "loss": "hinge"}, {"loss": "ra-hinge"}])
def test_an_update_walked_through_its_phases_is_the_update(changes: dict) -> None:
    """Slow motion's split (``begin_update``: to the gradients; ``finish_update``: the optimiser step) runs
    exactly the updates of whole steps, and nothing moves before the "update" phase."""
    whole, slow = Lab(tiny(d_steps=2, **changes)), Lab(tiny(d_steps=2, **changes))
    whole.step(6)
    while slow.step_no < 6:
        before = _weights(slow).clone()
        p = slow.begin_update()
        assert slow.begin_update() is p and torch.equal(_weights(slow), before)  # begun once, nothing applied
        b = slow.s.batch
        assert p.fake.shape == (b, 2) and p.read_fake.shape == (b // slow.s.pack,) and p.grad_norm > 0
        assert (p.which == "D") == (p.arrows is None) and (p.which == "D") <= (p.real is not None)
        assert p.which == slow.finish_update() and not torch.equal(_weights(slow), before)
    assert torch.equal(_weights(whole), _weights(slow)) and slow.pending is None


def test_g_arrows_of_an_update_are_minus_the_gradient_on_its_points() -> None:
    lab = Lab(tiny())
    lab.sub_step()  # D's update: next is G's
    p = lab.begin_update()
    x = p.fake.clone().requires_grad_(True)
    loss = lab.objective.g_main(lab.critic, pack(x, lab.s.pack), None, None)
    (grad,) = torch.autograd.grad(loss * len(x), x)
    assert p.which == "G" and torch.allclose(p.arrows, -grad, atol=1e-6)


def test_a_rewind_mid_update_forgets_the_begun_update() -> None:
    lab = Lab(tiny())
    lab.step(20)
    lab.begin_update()
    lab.rewind(10)
    assert lab.pending is None and lab.step_no == 10


def test_rewind_then_go_on_is_the_run_that_never_rewound() -> None:
    lab = Lab(tiny())
    lab.step(40)
    end = _weights(lab).clone()
    assert lab.rewind(25) == 20  # the latest kept state at or before 25
    assert lab.step_no == 20 and [r.step for r in lab.history] == [0, 10, 20]
    lab.step(20)
    assert torch.equal(_weights(lab), end)


def test_fork_starts_from_the_state_and_goes_its_own_way() -> None:
    lab = Lab(tiny())
    lab.step(30)
    same, other = lab.fork(20), lab.fork(20, lr_d=1e-2)
    assert same.step_no == other.step_no == 20 and lab.step_no == 30  # the original is untouched
    same.step(10)
    other.step(10)
    assert torch.equal(_weights(same), _weights(lab)) and not torch.equal(_weights(other), _weights(lab))


def test_live_changes_take_effect_and_their_json_replays_the_run_exactly() -> None:
    lab = Lab(tiny())
    lab.step(10)
    lab.change(lr_d=5e-3, loss="hinge")
    assert lab.opt_d.param_groups[0]["lr"] == 5e-3 and lab.loss.name == "hinge"
    lab.step(10)
    lab.change(unroll=2)
    lab.step(20)
    replay = Lab(from_json(json.loads(json.dumps(lab.recipe().to_json()))))
    assert replay.s.lr_d == 1e-3 and replay.s.loss == "nonsaturating"  # it starts as the original started
    replay.step(40)
    assert torch.equal(_weights(replay), _weights(lab))


def test_a_change_asked_mid_step_waits_for_the_next_step() -> None:
    lab = Lab(tiny(d_steps=2))
    lab.sub_step()
    lab.change(lr_g=5e-3)
    assert lab.opt_g.param_groups[0]["lr"] == 1e-3  # the step begun finishes as it began
    lab.step(1)
    lab.sub_step()
    assert lab.opt_g.param_groups[0]["lr"] == 5e-3 and dict(lab.s.schedule)[1] == (("lr_g", 5e-3),)


def test_settings_that_define_the_networks_cannot_change_live() -> None:
    lab = Lab(tiny())
    assert "batch" not in LIVE and "lr_d" in LIVE
    with pytest.raises(ConfigError, match="'batch' cannot change during a run"):
        lab.change(batch=64)
    with pytest.raises(ConfigError, match="--lr-d must be in"):
        lab.change(lr_d=-1)


@pytest.mark.parametrize(
    "changes",
    [
        {"unroll": 2},
        {"pack": 4},
        {"loss": "wgan-gp", "d_steps": 2},
        {"r1": 1.0},
        {"spectral_norm": True, "ema": 0.9},
        {"instance_noise": 0.1, "smoothing": 0.1, "flip": 0.05},
        {"loss": "ra-hinge"},
        {"noise": "uniform", "noise_dim": 1, "optimizer": "sgd", "lr_g": 0.01, "lr_d": 0.01},
        {"dist": "swissroll"},
    ],
    ids=lambda c: ",".join(c),
)
def test_every_remedy_and_trick_trains_and_is_drawn(changes: dict) -> None:
    lab = Lab(tiny(**changes))
    before = _weights(lab).clone()
    lab.step(10)
    v = json.loads(json.dumps(view(lab), allow_nan=False))  # strict JSON: no NaN reaches the page
    assert not torch.equal(before, _weights(lab)) and math.isfinite(v["metrics"]["swd"])
    n = len(v["fake"])
    assert len(v["arrows"]) == n and len(v["field"]) == 48 and len(v["d_real"]) == n // lab.s.pack
    assert v["field_scale"] == ("probability" if lab.loss.readout is PROBABILITY else "score")


def test_unrolled_g_sees_a_d_that_looks_ahead() -> None:
    """G's update against D unrolled k > 0 steps differs from the plain update from the same state, and D
    itself is not changed by the unrolling (its updates happen only in G's loss)."""
    plain, unrolled = Lab(tiny()), Lab(tiny(unroll=3))
    d0 = torch.cat([p.detach().flatten() for p in unrolled.d.parameters()]).clone()
    plain.g_update()
    unrolled.g_update()
    assert torch.equal(d0, torch.cat([p.detach().flatten() for p in unrolled.d.parameters()]))
    g = [torch.cat([p.detach().flatten() for p in lab.g.parameters()]) for lab in (plain, unrolled)]
    assert not torch.allclose(g[0], g[1])


@pytest.mark.parametrize("optim", ["adam", "sgd"])
def test_unrolled_follows_d_own_optimiser(optim: str) -> None:
    """D unrolled k steps ahead (``updates.unrolled``) reads as D would after k steps of its own optimiser
    (torch's Adam or SGD, moments carried over from a real step first) on the same batches, and leaves D
    and its optimiser as they were."""
    torch.manual_seed(0)
    d = mlp(4, 1, 8, 2)
    opt = (
        torch.optim.Adam(d.parameters(), lr=0.05, betas=(0.5, 0.9))
        if optim == "adam"
        else torch.optim.SGD(d.parameters(), lr=0.05)
    )
    loss = LOSSES["nonsaturating"]
    batches = [(torch.randn(6, 4, 1, 1), torch.randn(6, 4, 1, 1)) for _ in range(4)]
    probe = torch.randn(5, 4, 1, 1)

    def d_step(rx: torch.Tensor, fx: torch.Tensor) -> None:
        opt.zero_grad()
        loss.d_loss(d(rx).squeeze(1), d(fx).squeeze(1), torch.ones(6), torch.zeros(6)).backward()
        opt.step()

    d_step(*batches[0])  # moments that the look-ahead must carry on from
    before, state = copy.deepcopy(d.state_dict()), copy.deepcopy(opt.state_dict())
    feed = iter(batches[1:])
    ahead = unrolled(d, opt, loss, 3, lambda: next(feed))
    read = ahead(probe).detach()
    assert all(torch.equal(v, before[k]) for k, v in d.state_dict().items())
    now = opt.state_dict()
    assert now["param_groups"] == state["param_groups"] and now["state"].keys() == state["state"].keys()
    for i, moments in state["state"].items():
        assert all(torch.equal(torch.as_tensor(now["state"][i][key]), torch.as_tensor(v)) for key, v in moments.items())
    assert not torch.allclose(read, d(probe).squeeze(1).detach(), atol=1e-3)  # it did look ahead
    for rx, fx in batches[1:]:
        d_step(rx, fx)
    assert torch.allclose(read, d(probe).squeeze(1).detach(), atol=1e-5)


def test_bad_settings_are_one_line() -> None:
    with pytest.raises(ConfigError, match="--batch 30 must be a multiple of --pack 4"):
        tiny(batch=30, pack=4)
    with pytest.raises(ConfigError, match="--smoothing is not defined for --loss hinge"):
        tiny(loss="hinge", smoothing=0.1)
    with pytest.raises(ConfigError, match="'nope' is not a lab setting"):
        from_json({"nope": 1})
    with pytest.raises(ConfigError, match="'batch' cannot change during a run"):
        from_json({"schedule": [{"step": 3, "batch": 8}]})
    with pytest.raises(ConfigError, match="--noise 'cauchy' is not known"):
        from_json({"noise": "cauchy"})


# -- flow matching and diffusion on the plane ------------------------------------------------------------
def test_the_schedules_objectives_take_points_as_they_take_images() -> None:
    from drawlab.models import schedules as sc

    g = torch.Generator().manual_seed(0)
    x1, x0, t = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g), torch.rand(6, generator=g)
    xt, v = sc.flow_pair(x1, x0, t)
    assert torch.allclose(xt, (1 - t[:, None]) * x0 + t[:, None] * x1) and torch.equal(v, x1 - x0)
    abar, k = sc.alpha_bars("cosine"), torch.tensor([0, 10, 500, 900, 998, 999])
    xs, tin = sc.ddpm_pair(x1, x0, k, abar)
    img, _ = sc.ddpm_pair(x1.view(6, 2, 1, 1), x0.view(6, 2, 1, 1), k, abar)  # the images' shape: same numbers
    assert torch.equal(xs, img.view(6, 2)) and torch.allclose(tin, k / 1000)
    a = abar[k].float()[:, None]
    assert torch.allclose(sc.ddpm_target(x1, x0, k, abar, "v"), a.sqrt() * x0 - (1 - a).sqrt() * x1)


@pytest.mark.parametrize("model", ["flow", "ddpm"])
def test_denoisers_are_runs_like_the_gan_same_seed_rewind_fork_live_steps(model: str) -> None:
    from drawlab.lab.denoise import Denoiser, new_lab

    a, b = new_lab(tiny(model=model)), new_lab(tiny(model=model))
    assert isinstance(a, Denoiser) and a.d is None and a.readout is None
    a.step(40)
    b.step(20)
    assert [a.sub_step() for _ in range(2)] == ["V", "V"] and a.step_no == 42
    assert a.rewind(25) == 20
    a.step(20)
    b.step(20)
    assert torch.equal(_weights(a), _weights(b))
    other = b.fork(20, lr_g=1e-2)
    other.step(5)
    b.step(5)
    assert not torch.equal(_weights(other), _weights(b))
    few = b.samples()
    b.change(sample_steps=3)
    assert b.s.sample_steps == 3 and not torch.allclose(b.samples(), few)
    assert dict(b.s.schedule)[b.step_no] == (("sample_steps", 3),)
    v = json.loads(json.dumps(view(b)), parse_constant=lambda c: pytest.fail(c))
    assert v["family"] == model and v["arrows"] == [] and v["d_real"] == []
    assert len(v["vectors"]) == 5 and len(v["vectors"][0]["points"]) == 225
    assert len(v["paths"]) == 60 and len(v["paths"][0]) == 4  # noise, then each of the 3 sampling steps
    assert v["curve_names"][1] == f"{model} loss" and v["curve"][-1][1] is None  # no D's loss to draw
    assert not any("NaN" in w for w in vd.verdicts(b.history, b.dist, None))  # no D's loss is not a NaN loss


def test_a_flow_carries_noise_to_the_modes() -> None:
    from drawlab.lab.denoise import new_lab

    lab = new_lab(replace(Settings(), model="flow", steps=600, g_width=64, eval_every=600, seed=0))
    before = lab.history[-1].metrics["swd"]
    lab.step(600)
    after = lab.history[-1]
    assert after.metrics["swd"] < before / 3 and len(after.reached) == 8, (before, after)


def test_denoisers_refuse_what_only_a_gan_has() -> None:
    with pytest.raises(ConfigError, match="--pack and --unroll are remedies of GANs"):
        tiny(model="flow", pack=2)
    with pytest.raises(ConfigError, match="--model ddpm starts from Gaussian noise"):
        tiny(model="ddpm", noise="uniform")
    with pytest.raises(ConfigError, match="starts from 2D noise"):
        tiny(model="flow", noise_dim=1)
    with pytest.raises(ConfigError, match="--model 'gans' is not known: use one of gan, flow, ddpm"):
        from_json({"model": "gans"})
    tiny(model="flow", noise="uniform")  # a flow may start from any noise


def test_cli_trains_a_flow_headless(tmp_path: Path, capsys) -> None:
    assert main(["lab", "--out", str(tmp_path), "--frames", "2", *_tiny_flags(), "--model", "flow"]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["step"] == 40 and "swd" in s["metrics"] and (tmp_path / "final.png").stat().st_size > 0
    assert json.loads((tmp_path / "settings.json").read_text())["model"] == "flow"


# -- verdicts (each branch forced on records made up for it) ------------------------------------------
def _rec(step: int, covered=(), reached_=(), d=(0.5, 0.5), grad=1.0, hq=0.9, loss=(1.0, 1.0)) -> Record:
    return Record(step, {"swd": 0.1, "modes": float(len(covered)), "high_quality": hq, "reverse_kl": 0.1},
                  d[0], d[1], loss[0], loss[1], grad, list(covered), list(reached_))  # fmt: skip


RING = get_dist("ring8")
ALL = range(8)


def test_verdict_d_won_needs_both_separation_and_vanished_gradient() -> None:
    start = [_rec(0, grad=10.0)]
    won = start + [_rec(s, ALL, ALL, d=(0.99, 0.01), grad=0.1) for s in range(1, 6)]
    assert vd.d_won(won, RING, PROBABILITY).startswith("D won")
    still_pushed = start + [_rec(s, ALL, ALL, d=(0.99, 0.01), grad=5.0) for s in range(1, 6)]
    assert vd.d_won(still_pushed, RING, PROBABILITY) is None
    balanced = start + [_rec(s, ALL, ALL, grad=0.1) for s in range(1, 6)]
    assert vd.d_won(balanced, RING, PROBABILITY) is None
    assert vd.d_won(won, RING, CRITIC) is None  # a critic never "wins": only its gap means something


def test_verdict_collapse_imprecise_hopping_healthy() -> None:
    assert vd.collapse([_rec(1, [0], [0])], RING, PROBABILITY).startswith("collapsed onto 1 of 8")
    assert vd.collapse([_rec(1, [0, 1], ALL)], RING, PROBABILITY).startswith("imprecise")
    assert vd.collapse([_rec(1, ALL, ALL)], RING, PROBABILITY) is None
    assert vd.collapse([_rec(1)], get_dist("moons"), PROBABILITY) is None  # no modes, no collapse
    hops = [_rec(s, [s % 8, (s + 1) % 8], [s % 8, (s + 1) % 8]) for s in range(5)]
    assert "visited 6" in vd.hopping(hops, RING, PROBABILITY)
    steady = [_rec(s, [0, 1], [0, 1]) for s in range(5)]
    assert vd.hopping(steady, RING, PROBABILITY) is None
    assert vd.healthy([_rec(1, ALL, ALL, hq=0.9)], RING, PROBABILITY).startswith("healthy: all 8")
    assert vd.healthy([_rec(1, ALL, ALL, hq=0.1)], RING, PROBABILITY) is None


def test_verdict_oscillation_needs_a_far_repeated_clear_swing() -> None:
    def swung(**w) -> list[Record]:
        r = _rec(1)
        r.swing = {"amplitude": 2.0, "cycles": 4.0, "clarity": 40.0, **w}
        return [_rec(0), r]

    assert "2.0x the data's spread, 4 times" in vd.oscillation(swung(), RING, PROBABILITY)
    assert vd.oscillation(swung(), RING, CRITIC) is not None  # any loss: it reads G's points, not D's scale
    for weak in ({"amplitude": 0.5}, {"cycles": 1.5}, {"clarity": 3.0}):  # near, once, or lost in the noise
        assert vd.oscillation(swung(**weak), RING, PROBABILITY) is None, weak
    assert vd.oscillation(swung(), RING, None) is None  # a denoiser has no players to take turns
    assert vd.oscillation([_rec(0)], RING, PROBABILITY) is None  # not measured yet


def test_verdict_nan_skips_the_record_before_training() -> None:
    assert vd.nan([_rec(0, loss=(math.nan, math.nan)), _rec(1)], RING, PROBABILITY) is None
    assert "NaN by step 2" in vd.nan([_rec(0), _rec(1), _rec(2, loss=(math.nan, 1.0))], RING, PROBABILITY)


# -- the Dirac-GAN ---------------------------------------------------------------------------------------
def test_dirac_gradients_known_answer() -> None:
    """Non-saturating loss: dL_G/dtheta = -psi sigmoid(-psi theta), dL_D/dpsi = theta sigmoid(psi theta);
    R1 adds gamma psi to D's."""
    s = dg.DiracSettings()
    gt, gp = dg.gradients(s, 0.7, -0.4)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert gt == pytest.approx(0.4 * sig(0.28)) and gp == pytest.approx(0.7 * sig(-0.28))
    _, gp_r1 = dg.gradients(dataclasses.replace(s, r1=2.0), 0.7, -0.4)
    assert gp_r1 == pytest.approx(gp + 2.0 * -0.4)


def test_dirac_without_regulariser_never_converges_and_r1_converges() -> None:
    plain = dg.trajectory(dg.DiracSettings(steps=500))
    assert dg.turns(plain) > 2 and float(plain[-1].norm()) > 0.2
    assert not dg.verdict(plain).startswith("converges")
    damped = dg.trajectory(dg.DiracSettings(steps=500, r1=0.3))
    assert float(damped[-1].norm()) < 0.01 and dg.verdict(damped).startswith("converges")
    out = dg.trajectory(dg.DiracSettings(steps=300, loss="minimax"))
    assert dg.verdict(out).startswith("spirals out")


# -- the CLI ---------------------------------------------------------------------------------------------
def _tiny_flags() -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]


def test_cli_headless_writes_everything_and_settings_replay_it(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["lab", "--out", str(out), "--frames", "3", *_tiny_flags(), "--unroll", "1"]) == 0
    for name in ("final.png", "run.gif", "metrics.jsonl", "summary.json", "settings.json"):
        assert (out / name).stat().st_size > 0, name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 10, 20, 30, 40]
    said = capsys.readouterr()
    said = said.out + said.err
    assert "steps/s" in said
    again = tmp_path / "again"
    assert main(["lab", "--settings", str(out / "settings.json"), "--out", str(again), "--frames", "0"]) == 0
    a, b = (json.loads((d / "summary.json").read_text()) for d in (out, again))
    assert a["metrics"] == b["metrics"] and a["verdicts"] == b["verdicts"]


def test_cli_compare_trains_both_on_the_same_seed_and_stacks_their_pictures(tmp_path: Path, capsys) -> None:
    from PIL import Image

    out = tmp_path / "cmp"
    assert main(["lab", "--out", str(out), "--frames", "0", *_tiny_flags(), "--compare", "pack=2,lr_g=0.01"]) == 0
    a, b = (json.loads((out / d / "settings.json").read_text()) for d in ("a", "b"))
    assert (a["pack"], b["pack"], b["lr_g"], a["seed"]) == (1, 2, 0.01, b["seed"])
    assert {k for k in a if a[k] != b[k]} == {"pack", "lr_g"}  # the asked changes and nothing else
    sa, sb = (json.loads((out / d / "summary.json").read_text()) for d in ("a", "b"))
    assert sa["metrics"] != sb["metrics"]  # two different runs, not one written twice
    with Image.open(out / "a" / "final.png") as ia, Image.open(out / "compare.png") as both:
        assert both.height == 2 * ia.height and both.width == ia.width
    said = capsys.readouterr().out
    assert "a: lab:" in said and "b (pack=2, lr_g=0.01): lab:" in said and "compare.png" in said


def test_cli_compare_trains_a_named_distribution_on_itself_not_on_the_drawn_points(tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "line.png"
    img = Image.new("L", (64, 64), 255)
    for x in range(8, 56):
        img.putpixel((x, 32), 0)
    img.save(png)
    out = tmp_path / "cmp"
    flags = ["--frames", "0", *_tiny_flags()]
    assert main(["lab", "--points", str(png), "--out", str(out), *flags, "--compare", "dist=ring8"]) == 0
    a, b = (json.loads((out / d / "summary.json").read_text()) for d in ("a", "b"))
    assert "modes" not in a["metrics"] and "modes" in b["metrics"]  # a on the drawn line, b on the ring's modes


def test_cli_list_presets_is_one_line_each(capsys) -> None:
    from drawlab.lab.presets import LESSONS

    assert main(["lab", "--list-presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == list(LESSONS)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--out", "X", "--batch", "0"], "--batch"),
        (["--out", "X", "--dist", "ring9"], "'ring9' is not known"),
        (["--out", "X", "--loss", "nope"], "'nope' is not known"),
        (["--out", "X", "--preset", "nope"], "not a lab preset"),
        (["--out", "X", "--batch", "30", "--pack", "4"], "multiple of --pack"),
        (["--out", "X", "--settings", "missing.json"], "cannot read --settings"),
        (["--out", "X", "--compare", "unroll"], "setting=value"),
        (["--preset", "dirac"], "give --out DIR"),
        (["--out", "X", "--dist", "points"], "needs --points"),
        (["--out", "X", "--compare", "dist=points"], "needs --points"),  # said before run a trains
        (["--preset", "dirac", "--out", "X", "--compare", "r1=1"], "Dirac-GAN lesson"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(argv: list[str], words: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["lab", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_dirac_lesson_writes_its_picture(tmp_path: Path, capsys) -> None:
    assert main(["lab", "--preset", "dirac-r1", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["verdicts"][0].startswith("converges") and (tmp_path / "final.png").stat().st_size > 0


# -- the lessons: each preset shows what it says ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", list(__import__("drawlab.lab.presets", fromlist=["LESSONS"]).LESSONS))
def test_every_lesson_shows_its_lesson(name: str, tmp_path: Path, capsys) -> None:
    from drawlab.lab.presets import LESSONS

    les = LESSONS[name]
    assert main(["lab", "--preset", name, "--out", str(tmp_path), "--frames", "0"]) == 0
    outcome = json.loads((tmp_path / "summary.json").read_text())
    assert les.expect(outcome), (name, les.expect_words, outcome)
