"""One conformance test over every adversarial loss and every D penalty the registry finds (a new file in
src/drawlab/losses/ is tested here without editing a list), and the report of runs under the losses
whose readouts are neither a probability nor the hinge score."""

from __future__ import annotations

import html
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from drawlab import losses
from drawlab.config import ModelConfig
from drawlab.records import figures
from drawlab.run import RunDir
from drawlab.records.histograms import load_history

LOSS_NAMES = losses.names()
PENALTIES = list(losses.PENALTIES)
RECORD_KEYS = {"step", "epoch", "loss_d", "loss_g", "img_per_s", "monitor", "eval", "d_auc"}


def _logits(seed: int, n: int = 16) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)).requires_grad_(True)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_is_registered_under_its_name_with_a_summary(name: str) -> None:
    loss = losses.get_loss(name)
    assert isinstance(loss, losses.AdversarialLoss) and loss.name == name and losses.LOSSES[name] is loss
    assert name in losses.names() and (name, loss.summary) in losses.summaries()
    assert loss.summary.strip() and "\n" not in loss.summary
    assert isinstance(loss.readout, losses.Readout)
    with pytest.raises(KeyError, match=name):  # the message names the known ones, this one among them
        losses.get_loss(name + "-nope")


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_terms_are_finite_and_differentiable(name: str) -> None:
    loss = losses.get_loss(name)
    real, fake = _logits(1), _logits(2)
    one, zero = torch.ones(16), torch.zeros(16)
    d = loss.d_loss(real, fake, one, zero)
    assert d.shape == () and torch.isfinite(d)
    d.backward()
    for x in (real, fake):
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    fake2, real2 = _logits(3), _logits(4)
    g = loss.g_loss(fake2, real2.detach() if loss.relativistic else None)
    assert g.shape == () and torch.isfinite(g)
    g.backward()
    assert fake2.grad is not None and torch.isfinite(fake2.grad).all() and fake2.grad.abs().sum() > 0


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_flags_say_what_the_loss_does(name: str) -> None:
    """``supports_smoothing``: smoothed targets change D's loss exactly when it says so; ``relativistic``:
    G's loss reads D's logits on real images exactly when it says so."""
    loss = losses.get_loss(name)
    real, fake = _logits(5).detach(), _logits(6).detach()
    one, zero = torch.ones(16), torch.zeros(16)
    plain, smoothed = loss.d_loss(real, fake, one, zero), loss.d_loss(real, fake, 0.9 * one, zero)
    assert bool(torch.isclose(plain, smoothed)) is not loss.supports_smoothing
    if loss.relativistic:
        assert loss.g_loss(fake, real) != loss.g_loss(fake, real + 3)
    else:
        assert loss.g_loss(fake, real) == loss.g_loss(fake, None) == loss.g_loss(fake, real + 3)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_readout_range_bounds_keys_and_words_agree(name: str) -> None:
    r = losses.get_loss(name).readout
    assert r.lo < r.hi and all(r.lo <= m <= r.hi for m in r.lines)
    assert len(set(r.keys)) == 2 and not set(r.keys) & RECORD_KEYS and r.names[0] != r.names[1]
    assert r.axis.strip() and r.meaning.strip() and r.name.strip()
    for other in {o.readout.name: o.readout for o in losses.LOSSES.values()}.values():
        assert other.name == r.name or not set(other.keys) & set(r.keys), (r.name, other.name)
    mid = (r.lo + r.hi) / 2
    assert not r.wins(mid, mid) and not r.wins(r.lo, r.hi)  # equal means, or reals lowest: no win
    if math.isfinite(r.won[0]):
        assert r.lo < r.won[1] < r.won[0] < r.hi and r.wins(r.hi, r.lo)
    else:  # a loss without a winning level (the critic): only the gap means something
        assert not r.wins(r.hi, r.lo) and not r.wins(1e9, -1e9)
    said = {(a, b): r.explain(a, b) for a, b in ((r.hi, r.lo), (mid, mid), (r.lo, r.hi))}
    assert all(w.strip() for w in said.values()) and len(set(said.values())) == 3, said
    assert r.explain(None, mid) == "" and r.explain(mid, None) == ""
    assert ("wins outright" in said[(r.hi, r.lo)]) is r.wins(r.hi, r.lo)
    values = r.values(torch.tensor([-30.0, 0.0, 30.0]))
    assert values.dtype == torch.float32 and values.shape == (3,)
    if r.scale is losses.Scale.PROBABILITY:
        assert values.tolist() == pytest.approx([0.0, 0.5, 1.0])


class Linear(nn.Module):
    """D(x) = <w, x> (summed over every scale of a pyramid): its input gradient is w."""

    def __init__(self, n: int):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1, 1, n))

    def forward(self, x, y=None):
        xs = x if isinstance(x, list) else [x]
        return sum((t.flatten(1) * self.w[: t[0].numel()]).sum(1) for t in xs)


@pytest.mark.parametrize("cls", PENALTIES, ids=lambda c: c.__name__)
def test_penalty_is_built_from_the_config_and_trains_d(cls: type[losses.Penalty]) -> None:
    assert cls.from_config(ModelConfig()) is None and not any(
        isinstance(p, cls) for p in losses.penalties_for(ModelConfig())
    )
    assert cls.turned_on_by, "say which ModelConfig fields turn the penalty on"
    cfg = ModelConfig(**cls.turned_on_by)
    pen = cls.from_config(cfg)
    assert isinstance(pen, cls) and pen.every >= 1 and pen.due(0) and pen.due(pen.every)
    assert sum(isinstance(p, cls) for p in losses.penalties_for(cfg)) == 1
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(4, 1, 2, 2, generator=g), torch.randn(4, 1, 2, 2, generator=g)
    for r, f in ((real, fake), ([real[:, :, :1, :1], real], [fake[:, :, :1, :1], fake])):  # a batch, a pyramid
        d = Linear(4)
        value = pen(d, r, f, None, torch.Generator().manual_seed(1))
        assert value.shape == () and torch.isfinite(value) and float(value.detach()) > 0
        value.backward()
        assert d.w.grad is not None and torch.isfinite(d.w.grad).all() and d.w.grad.abs().sum() > 0


# -- the report under the losses with their own readouts ----------------------------------------------
def _dotted_levels(ax) -> list[float]:
    """The y of every horizontal reference line drawn dotted or dashed on ``ax`` (axhline)."""
    return sorted(
        float(line.get_ydata()[0])
        for line in ax.get_lines()
        if line.get_linestyle() in (":", "--") and len(set(line.get_ydata())) == 1
    )


@pytest.mark.parametrize("loss", ["lsgan", "wgan-gp"])
def test_report_reads_d_with_the_runs_readout(loss: str, tmp_path: Path, tiny_train) -> None:
    out = tmp_path / loss
    assert tiny_train("--data", "mnist-5k", "--steps", "4", "--loss", loss, "--out", str(out)) == 0
    run, r = RunDir(out), losses.get_loss(loss).readout
    assert figures.run_readout(run) is r
    assert r is not losses.PROBABILITY and r is not losses.HINGE_LOGIT

    heat = figures.heatmap_figure(load_history(run.monitor / "d_hist.npz"), r)
    for ax in heat.axes[:2]:  # real, generated
        assert ax.get_ylim() == (r.lo, r.hi) and ax.get_ylabel() == r.axis
        assert _dotted_levels(ax) == sorted(r.lines)  # its own lines, never the hinge margins

    log = figures.read_log(run)
    fig = figures.losses_figure(log, r)
    assert len(fig.axes) == 2  # loss, D
    d_ax = fig.axes[1]
    assert [t.get_text() for t in d_ax.get_legend().get_texts()] == list(r.names)
    assert r.meaning in d_ax.get_title(loc="left") and d_ax.get_ylabel() == r.axis
    raw = [line for line in d_ax.get_lines() if line.get_alpha() == 0.25]
    assert [list(line.get_ydata()) for line in raw] == [[rec[k] for rec in log["train"]] for k in r.keys]

    from drawlab.report import build_report

    page = html.unescape(build_report(out, gallery=False).read_text())
    last = log["train"][-1]
    said = r.explain(last[r.keys[0]], last[r.keys[1]])
    assert f"{r.names[0]} = {last[r.keys[0]]:.2f}, {r.names[1]} = {last[r.keys[1]]:.2f}" in page and said in page
    assert figures.write_figures(run) and (run.monitor / "d_heatmap.png").is_file()
