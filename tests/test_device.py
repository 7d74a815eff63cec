"""Precision by measurement: 'auto' picks bf16 only on a CPU with bf16 matrix units where a probe measures it
faster than fp32. The decision is tested with fake probes (no AMX CPU is at hand), the probe on this CPU."""

from __future__ import annotations

import pytest
import torch

from drawlab import device
from drawlab.errors import ConfigError


def test_choose_precision_follows_the_measurement() -> None:
    def never():
        raise AssertionError("a CPU without bf16 units is not probed")

    assert device.choose_precision(False, never)[0] == "fp32"
    choice, why, speedup = device.choose_precision(True, lambda: (1.0, 0.5))
    assert choice == "bf16" and "2.0x as fast" in why and speedup == pytest.approx(2.0)
    assert device.choose_precision(True, lambda: (1.0, 0.95))[0] == "fp32"  # faster, but not by 10%
    choice, why, _ = device.choose_precision(True, lambda: (1.0, 4.0))
    assert choice == "fp32" and "0.2x" in why  # emulated bf16: far slower


def test_the_probes_two_timings_differ_only_by_the_precision_of_the_layers() -> None:
    x, conv, lin = device.probe_layers()
    assert device.probe_pass(None, x, conv, lin) == torch.float32
    assert device.probe_pass(torch.bfloat16, x, conv, lin) == torch.bfloat16
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()  # a backward pass ran


def test_the_stand_in_probe_times_each_precision_after_a_warm_up(monkeypatch) -> None:
    """bf16_probe: ``repeats`` timed passes per precision after one warm-up, the median of each."""
    seen: list[torch.dtype | None] = []
    monkeypatch.setattr(device, "probe_pass", lambda dtype, *_: seen.append(dtype))
    fp32_s, bf16_s = device.bf16_probe(repeats=3)
    assert seen == [None] * 4 + [torch.bfloat16] * 4 and fp32_s >= 0 and bf16_s >= 0


def test_pick_precision_auto_says_why_and_explicit_choices_stand(monkeypatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.delenv(device.PROBE_ENV, raising=False)
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setattr(device, "bf16_probe", lambda: (3.0, 1.0))
    choice = device.pick_precision("auto", cpu)
    assert choice.value == "bf16" and "3.0x" in choice.why and choice.speedup == pytest.approx(3.0)
    monkeypatch.setattr(device, "bf16_probe", lambda: (1.0, 3.0))
    assert device.pick_precision("auto", cpu).value == "fp32"
    assert device.pick_precision("bf16", cpu).value == "bf16" and device.pick_precision("fp32", cpu).value == "fp32"
    with pytest.raises(ConfigError, match="unknown precision"):
        device.pick_precision("fp8", cpu)


@pytest.mark.parametrize("forced", ["bf16", "fp32"])
def test_the_probe_can_be_faked_both_ways_on_any_cpu(monkeypatch, forced: str) -> None:
    """$DRAWLAB_PRECISION_PROBE stands in for bf16 units and the measurement, so an AVX2 machine runs the
    bf16 branch and a bf16 machine the fp32 one; the real probe is never called."""
    monkeypatch.setenv(device.PROBE_ENV, forced)
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: False)
    monkeypatch.setattr(device, "bf16_probe", lambda: pytest.fail("the faked probe must not measure"))
    choice = device.pick_precision("auto", torch.device("cpu"))
    assert choice.value == forced and device.PROBE_ENV in choice.why
    monkeypatch.setenv(device.PROBE_ENV, "fp8")
    with pytest.raises(ConfigError, match="use bf16 or fp32"):
        device.pick_precision("auto", torch.device("cpu"))


# CUDA graphs: on by default where the step allows it; the decision is plain logic, tested here on any CPU.
from drawlab.config import preset_config  # noqa: E402
from drawlab.training.cuda_graph import decide  # noqa: E402


def _cfg(graphs, **model):
    cfg = preset_config("mnist-cgan")
    cfg.cuda_graphs = graphs
    for k, v in model.items():
        setattr(cfg.model, k, v)
    return cfg


@pytest.mark.parametrize(
    "device, processes, model, expected",
    [
        ("cuda", 1, {}, True),  # one GPU, a fixed step: on
        ("cpu", 1, {}, False),  # no GPU
        ("mps", 1, {}, False),
        ("cuda", 2, {}, False),  # torchrun
        ("cuda", 1, {"instance_noise": 0.1}, False),  # the step changes as training goes on
        ("cuda", 1, {"d_pretrain_steps": 10}, False),
        ("cuda", 1, {"swap_real_fraction": 0.5}, False),
    ],
)
def test_cuda_graphs_auto_turns_on_only_where_the_step_allows(device, processes, model, expected) -> None:
    on, why = decide(_cfg(None, **model), device, processes)
    assert on is expected and why.startswith("on" if expected else "off")


def test_cuda_graphs_off_stays_off_and_forced_where_impossible_says_why() -> None:
    assert decide(_cfg(False), "cuda", 1)[0] is False
    assert decide(_cfg(True), "cuda", 1)[0] is True
    for device, processes, model, words in [
        ("cpu", 1, {}, "needs a CUDA device"),
        ("cuda", 2, {}, "one process"),
        ("cuda", 1, {"instance_noise": 0.1}, "--instance-noise"),
    ]:
        with pytest.raises(ConfigError, match=words):
            decide(_cfg(True, **model), device, processes)


@pytest.mark.parametrize("preset", ["mnist-cgan-gpu", "mnist-flow-gpu"])
def test_the_gpu_presets_are_graph_friendly_and_ask_for_a_gpu(preset: str) -> None:
    cfg = preset_config(preset)
    assert cfg.device == "cuda" and cfg.batch_size >= 512 and cfg.cuda_graphs is None
    assert decide(cfg, "cuda", 1)[0] is True


@pytest.mark.parametrize("preset", ["mnist-cgan-gpu", "mnist-flow-gpu"])
def test_a_gpu_preset_without_a_gpu_is_one_line(preset: str, tmp_path, capsys) -> None:
    from drawlab.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["train", "--preset", preset, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA GPU" in err[0] and not (tmp_path / "r").exists()


def test_one_process_trains_with_a_plain_generator_that_cuda_graphs_can_register() -> None:
    from drawlab.rng import ShardedGenerator, make_generator

    assert type(make_generator("cpu", 0, 1)) is torch.Generator  # register_generator_state refuses subclasses
    assert isinstance(make_generator("cpu", 1, 2), ShardedGenerator)


def test_a_resume_under_auto_keeps_the_precision_the_run_started_in(tmp_path, monkeypatch) -> None:
    """A run that started in bf16 under `--precision auto` resumes in bf16 even where the probe would now
    choose fp32 (another CPU, a busy machine): the resumed steps compute as the first ones did."""
    from conftest import resume_to, tiny_cfg, train

    from drawlab.device import PROBE_ENV
    from drawlab.run import RunDir

    monkeypatch.setenv(PROBE_ENV, "bf16")
    cfg = tiny_cfg("mnist-5k", steps=2)
    cfg.precision = "auto"
    train(cfg, tmp_path / "r")
    assert RunDir(tmp_path / "r").read_config()[1]["precision"]["value"] == "bf16"
    monkeypatch.setenv(PROBE_ENV, "fp32")
    resume_to(tmp_path / "r", steps=3)
    state = torch.load(tmp_path / "r" / "checkpoints" / "step-0000003.state.pt", weights_only=True)
    facts = RunDir(tmp_path / "r").read_config()[1]["precision"]
    assert state["precision"] == "bf16" and facts["value"] == "bf16" and "a resume keeps" in facts["why"]
