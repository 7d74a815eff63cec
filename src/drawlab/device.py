"""Choosing the device and the numeric precision from what the machine can do."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda, then mps, then cpu; an explicit device that is not available is an error."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ConfigError(f"unknown device {name!r}: use one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name} asked for, but no CUDA GPU is visible: use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps asked for, but MPS is not available: use --device cpu or auto")
    return torch.device(name)


def cpu_model() -> str:
    """The CPU's model name, e.g. 'Intel(R) Xeon(R) Processor @ 2.80GHz'."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(device: torch.device) -> str:
    """Where a run trained, in words: the CPU model, its cores and torch's threads, and the GPU when on one."""
    cpu = f"{cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (host: {cpu})"
    return cpu


def cpu_flags() -> set[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where unknown)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AMX-BF16 or AVX512-BF16); without them
    bf16 autocast is emulated and many times slower than fp32."""
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


BF16_MIN_SPEEDUP = 1.1  # bf16 must beat fp32 by this factor on the probe to be chosen


def probe_layers() -> tuple[torch.Tensor, torch.nn.Module, torch.nn.Module]:
    """The probe's input and layer pair: a DCGAN-sized conv 64 -> 128 (4x4, stride 2) on 64 x 64 x 14 x 14,
    then a 128*7*7 -> 1 linear."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 64, 14, 14, generator=g), torch.nn.Conv2d(64, 128, 4, 2, 1), torch.nn.Linear(128 * 7 * 7, 1)


def probe_pass(dtype: torch.dtype | None, x: torch.Tensor, conv: torch.nn.Module, lin: torch.nn.Module) -> torch.dtype:
    """One forward + backward of the probe's layers, under bf16 autocast when ``dtype`` says so; returns the
    dtype the convolution computed in (what the probe's two timings differ by)."""
    ctx = torch.autocast("cpu", dtype=dtype) if dtype else contextlib.nullcontext()
    with ctx:
        h = conv(x)
        out = lin(h.flatten(1)).float().sum()
    out.backward()
    return h.dtype


def bf16_probe(threads: int | None = None, repeats: int = 5) -> tuple[float, float]:
    """(fp32 seconds, bf16-autocast seconds) of ``probe_pass``, median of ``repeats`` after a warm-up, on
    this CPU with its current threads: what ``pick_precision('auto')`` decides by."""
    import time

    x, conv, lin = probe_layers()

    def run(dtype: torch.dtype | None) -> float:
        times = []
        for _ in range(repeats + 1):  # the first is a warm-up
            t = time.perf_counter()
            probe_pass(dtype, x, conv, lin)
            times.append(time.perf_counter() - t)
        return sorted(times[1:])[len(times[1:]) // 2]

    return run(None), run(torch.bfloat16)


PROBE_ENV = "DRAWLAB_PRECISION_PROBE"  # testing aid: "bf16" or "fp32" fakes what the probe measures (see fake_probe)
FAKE_PROBES: dict[str, tuple[float, float]] = {"bf16": (1.4, 1.0), "fp32": (1.0, 1.0)}  # (fp32 s, bf16 s)


@dataclass(frozen=True)
class Precision:
    """The numeric precision a run computes in, and why: ``value`` 'fp32' or 'bf16'; ``asked`` what the user
    gave (auto, fp32, bf16); ``speedup`` bf16's measured speed over fp32's where the probe ran (else None)."""

    value: str
    asked: str
    why: str
    speedup: float | None = None

    def to_dict(self) -> dict[str, object]:
        """What config.json's facts keep of the decision."""
        return {"value": self.value, "asked": self.asked, "why": self.why, "speedup": self.speedup}


def fake_probe() -> tuple[float, float] | None:
    """The probe's result forced by $DRAWLAB_PRECISION_PROBE ("bf16": 1.4x faster, as measured on a Zen 4;
    "fp32": no faster), or None when it is not set. Forcing it also stands in for bf16 units, so a machine
    without them runs the bf16 branch (tests run both ways; emulated bf16 is slow but correct)."""
    v = os.environ.get(PROBE_ENV, "").strip().lower()
    if not v:
        return None
    if v not in FAKE_PROBES:
        raise ConfigError(f"${PROBE_ENV}={v!r}: use bf16 or fp32 (or unset it to measure)")
    return FAKE_PROBES[v]


def choose_precision(
    has_bf16_units: bool, probe: Callable[[], tuple[float, float]] | None = None
) -> tuple[str, str, float | None]:
    """('bf16' or 'fp32', why, measured speedup or None) for 'auto' on a CPU: bf16 only on a CPU with bf16
    matrix units (AMX or AVX512-BF16; without them bf16 is emulated and many times slower) AND when ``probe``
    measures it at least BF16_MIN_SPEEDUP x faster than fp32 here (measured, not assumed)."""
    if not has_bf16_units:
        return "fp32", "no bf16 matrix instructions on this CPU", None
    fp32_s, bf16_s = (probe or bf16_probe)()
    speedup = fp32_s / max(bf16_s, 1e-12)
    if speedup >= BF16_MIN_SPEEDUP:
        return "bf16", f"bf16 measured {speedup:.1f}x as fast as fp32 here", speedup
    return "fp32", f"bf16 measured {speedup:.1f}x fp32's speed here, below {BF16_MIN_SPEEDUP}x", speedup


def check_precision(name: str) -> str:
    """``name`` if it is a precision drawlab knows; a one-line ConfigError otherwise."""
    if name not in PRECISIONS:
        raise ConfigError(f"unknown precision {name!r}: use one of {', '.join(PRECISIONS)}")
    return name


def pick_precision(
    name: str, device: torch.device, probe: Callable[[], tuple[float, float]] | None = None
) -> Precision:
    """'auto' -> bf16 on CPUs where it is measured faster (``choose_precision``; ``probe`` measures, by
    default ``bf16_probe``'s stand-in layer, in a run its own step: ``sizing.precision_probe``), else fp32. Says nothing:
    the caller reports the decision with the run's other facts (after every input has been checked).

    On CUDA 'auto' is fp32 with TF32 tensor-core matmuls: the models here are small enough that
    autocast's casts cost more than bf16 saves (measured on an H100: 28x28 DCGAN 16.7k img/s in
    fp32/TF32 vs 12.7k in bf16; see benchmarks/RESULTS.md); ask for bf16 explicitly for large images.
    """
    check_precision(name)
    if name != "auto":
        return Precision(name, name, "asked for")
    if device.type == "cpu":
        forced = fake_probe()
        units = cpu_has_fast_bf16() or forced is not None
        choice, why, speedup = choose_precision(units, (lambda: forced) if forced is not None else probe)
        return Precision(choice, name, why + (f" (faked by ${PROBE_ENV})" if forced is not None else ""), speedup)
    return Precision("fp32", name, f"{device.type}: fp32 (TF32 matmuls on CUDA)")


def enable_fast_math(device: torch.device) -> None:
    """TF32 matmuls/convolutions and cuDNN autotuning on CUDA (no effect elsewhere)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


def autocast(device: torch.device, precision: str):
    """A context manager running the forward pass in ``precision`` (no-op for fp32). On CUDA without
    autocast's weight-cast cache, which a captured CUDA graph cannot hold between replays."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, cache_enabled=device.type != "cuda")
    return contextlib.nullcontext()


def describe(device: torch.device) -> str:
    """A one-line description of the device for logs and benchmark reports."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"
    return device.type
