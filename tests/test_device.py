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
    choice, why = device.choose_precision(True, lambda: (1.0, 0.5))
    assert choice == "bf16" and "2.0x as fast" in why
    assert device.choose_precision(True, lambda: (1.0, 0.95))[0] == "fp32"     # faster, but not by 10%
    choice, why = device.choose_precision(True, lambda: (1.0, 4.0))
    assert choice == "fp32" and "0.2x" in why                                 # emulated bf16: far slower


def test_bf16_probe_measures_both_on_this_cpu() -> None:
    fp32_s, bf16_s = device.bf16_probe(repeats=1)
    assert fp32_s > 0 and bf16_s > 0


def test_pick_precision_auto_says_why_and_explicit_choices_stand(monkeypatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setattr(device, "bf16_probe", lambda: (3.0, 1.0))
    said: list[str] = []
    assert device.pick_precision("auto", cpu, said.append) == "bf16" and "3.0x" in said[0]
    monkeypatch.setattr(device, "bf16_probe", lambda: (1.0, 3.0))
    assert device.pick_precision("auto", cpu) == "fp32"
    assert device.pick_precision("bf16", cpu) == "bf16" and device.pick_precision("fp32", cpu) == "fp32"
    with pytest.raises(ConfigError, match="unknown precision"):
        device.pick_precision("fp8", cpu)
