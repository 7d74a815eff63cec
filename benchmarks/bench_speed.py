"""Training and sampling speed of every model, with the machine's measured peaks in the same run.

    python benchmarks/bench_speed.py                       # CPU, all models, 28x28 and 64x64x3
    python benchmarks/bench_speed.py --device cuda --precision bf16
    python benchmarks/bench_speed.py --models cgan --repeats 5
    python benchmarks/bench_speed.py --models cgan,flow,ddpm --no-64   # denoisers: sampling at their 20 steps
    python benchmarks/bench_speed.py --monitor             # what watching training costs (default preset)

Prints the CPU/GPU model, the measured fp32 and bf16 matmul peaks, then per model: training
images/s (median of --repeats timings of --steps steps each, after warm-up), FLOPs per training
image (torch.utils.flop_counter), the share of the fp32 (or bf16) peak reached, and sampling images/s.
Training uses the real pieces of the loop: Batches over in-memory data + the family's train_step.

``--monitor`` measures what the observers of issue 7 cost on the default preset (mnist-cgan on
mnist-5k) through the real Trainer: the same run with every observer (watchdog, D histograms each
epoch, pictures at the end) and with none (the loop, grids and checkpoints only), alternated
``--repeats`` times; plus the cost of each piece, and what that makes of a 5-minute run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from drawlab.config import ModelConfig, preset_config
from drawlab.data import Batches, ImageDataset
from drawlab.device import autocast, cpu_model, enable_fast_math, pick_device, pick_precision
from drawlab.images import to_uint8
from drawlab.models import FamilyContext, build_family


DENOISER_PRESETS = {"flow": "mnist-flow", "ddpm": "mnist-flow"}  # whose model a denoiser's row uses


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int = 2048, seconds: float = 1.5) -> float:
    """GFLOP/s of a large n x n matmul in ``dtype`` (median of short timed bursts)."""
    n = 8192 if device.type == "cuda" else n
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    rates, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(rates) < 3:
        t = time.perf_counter()
        a @ b
        sync(device)
        rates.append(2 * n**3 / (time.perf_counter() - t) / 1e9)
    return statistics.median(rates)


def peak_memory_mib(device: torch.device) -> float:
    """MiB: the GPU memory allocated at most since the last reset, or the process's peak RSS (CPU)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fake_dataset(shape: tuple[int, int, int], n: int = 4096, classes: int = 10) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    return ImageDataset(
        name="bench",
        shape=shape,
        num_classes=classes,
        class_names=[str(i) for i in range(classes)],
        images=torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g),
        labels=torch.randint(0, classes, (n,), generator=g),
        fingerprint="bench",
        notice=None,
    )


def bench_model(
    mc: ModelConfig,
    shape,
    batch: int,
    device,
    precision: str,
    steps: int,
    repeats: int,
    channels_last: bool,
    cuda_graphs: bool = False,
) -> dict:
    ctx = FamilyContext(autocast=lambda: autocast(device, precision))
    fam = build_family(mc, shape, 10, ctx)
    fam.to(device, channels_last)
    gen = torch.Generator(device=device).manual_seed(0)
    it = Batches(fake_dataset(shape), batch, seed=0, device=device).iterate()

    train_step = lambda x, y: fam.train_step(x, y, gen)  # noqa: E731
    if cuda_graphs:
        from drawlab.training.cuda_graph import GraphedStep

        train_step = GraphedStep(fam, ctx, gen)

    def step():
        x, y = next(it)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return train_step(x, y)

    with FlopCounterMode(display=False) as fc:
        fam.train_step(*next(it), gen)
    flops = fc.get_total_flops() / batch
    for _ in range(3 + 3 * cuda_graphs):
        step()
    rates = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        rates.append(steps * batch / (time.perf_counter() - t))
    train_ips = statistics.median(rates)
    # sampling: the generator alone in inference mode, as `drawlab sample` runs it (a denoiser: its
    # sample_steps network evaluations per image, so fewer images)
    n, sb = (20000, 500) if shape[1] <= 32 else (4000, 250)
    if fam.latent_is_image:
        n, sb = (2000, 500) if shape[1] <= 32 else (250, 125)
    z = torch.randn(n, mc.z_dim, device=device)
    y = torch.arange(n, device=device) % 10
    fam.generate(z[:sb], y[:sb])
    srates = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, n, sb):
                to_uint8(fam.generate(z[i : i + sb], y[i : i + sb])).cpu()
        sync(device)
        srates.append(n / (time.perf_counter() - t))
    return {"train_ips": train_ips, "flops": flops, "sample_ips": statistics.median(srates)}


def bench_monitor(steps: int, repeats: int) -> None:
    """Wall time of the default preset's run with and without its observers (see the module docstring)."""
    import shutil
    import tempfile

    from drawlab.records.figures import write_figures
    from drawlab.training import Trainer
    from drawlab.training.monitors.d_monitor import DMonitor

    cfg = preset_config("mnist-cgan")
    cfg.data.spec, cfg.steps, cfg.minutes = "mnist-5k", steps, None
    tmp = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    times: dict[str, list[float]] = {"all observers": [], "no observers": []}
    snap, pics, spe = [], [], 0
    for r in range(repeats):
        for kind in list(times) if r % 2 == 0 else list(times)[::-1]:
            out = tmp / f"{kind.split()[0]}-{r}"
            t = Trainer(cfg, out, progress=False, echo=lambda s: None)
            spe = t.batches.steps_per_epoch
            if kind == "no observers":
                t.observers.items = []
            t0 = time.perf_counter()
            t.train()
            times[kind].append(time.perf_counter() - t0)
            if kind == "all observers":
                mon = t.observers.find(DMonitor)
                for _ in range(3):
                    t1 = time.perf_counter()
                    mon.snapshot(t.view)
                    snap.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                write_figures(t.run)
                pics.append(time.perf_counter() - t1)
            shutil.rmtree(out)
    full, bare = statistics.median(times["all observers"]), statistics.median(times["no observers"])
    print(
        f"\nmonitoring cost, default preset mnist-cgan on mnist-5k, {steps} steps ({steps / spe:.1f} epochs), "
        f"median of {repeats}:"
    )
    print("| run | wall s | per step ms |")
    print("| --- | --- | --- |")
    for kind, v in times.items():
        print(f"| {kind} | {statistics.median(v):.1f} | {1000 * statistics.median(v) / steps:.1f} |")
    print(f"overhead of all observers in this run: {100 * (full - bare) / bare:.1f}%")
    t_step, t_snap, t_pics = bare / steps, statistics.median(snap), statistics.median(pics)
    n_snaps = lambda n: 1 + n // spe + (n % spe > 0)  # noqa: E731 - before training, each epoch, the end
    n_snap = n_snaps(steps)
    fixed = max(t_pics, (full - bare) - n_snap * t_snap)  # per run: pictures, set-up, TensorBoard
    steps5 = 300 / t_step
    cost5 = n_snaps(int(steps5)) * t_snap + fixed
    print(
        f"one D snapshot (512 real + 512 generated): {1000 * t_snap:.0f} ms; pictures at the end: {t_pics:.1f} s; "
        f"per-run cost besides snapshots: {fixed:.1f} s"
    )
    print(
        f"a 5-minute run here: ~{steps5:.0f} steps, {n_snaps(int(steps5))} snapshots -> {cost5:.1f} s of monitoring "
        f"= {100 * cost5 / 300:.1f}% of training time"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--models", default="mlp-mse,conv-mse,gan,dcgan,cgan")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-64", action="store_true", help="skip the 64x64x3 rows")
    ap.add_argument("--only-64", action="store_true", help="only the 64x64x3 rows (the faces preset's DCGAN)")
    ap.add_argument("--faces-preset", default="faces-dcgan", help="whose model the 64x64x3 rows use")
    ap.add_argument("--batch", type=int, default=128, help="batch size of the 28x28 rows (64x64 rows: half)")
    ap.add_argument("--cuda-graphs", action="store_true", help="replay each training step as one CUDA graph")
    ap.add_argument("--monitor", action="store_true", help="only the cost of monitoring (default preset, real Trainer)")
    ap.add_argument("--monitor-steps", type=int, default=312, help="steps per monitoring run (312 = 8 epochs)")
    a = ap.parse_args(argv)
    device = pick_device(a.device)
    precision = pick_precision(a.precision, device).value
    enable_fast_math(device)
    torch.manual_seed(0)
    print(f"# drawlab speed benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"cpu: {cpu_model()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}")
    if device.type == "cuda":
        print(f"gpu: {torch.cuda.get_device_name(device)}")
    p32 = matmul_peak(device, torch.float32)
    from drawlab.device import cpu_has_fast_bf16

    slow16 = device.type == "cpu" and not cpu_has_fast_bf16()  # emulated bf16: a 2048^3 product takes minutes
    p16 = matmul_peak(device, torch.bfloat16, n=256 if slow16 else 2048, seconds=1.0)
    fp32_name = (
        "fp32 (TF32 tensor cores)" if device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32 else "fp32"
    )
    print(
        f"device {device.type}, precision {precision}: measured matmul peak {fp32_name} {p32:.0f} GFLOP/s, "
        f"bf16 {p16:.0f} GFLOP/s"
    )
    peak = p16 if precision == "bf16" else p32
    if a.monitor:
        bench_monitor(a.monitor_steps, a.repeats)
        return 0
    base = preset_config("mnist-cgan").model
    rows = [] if a.only_64 else [(m, (1, 28, 28), a.batch) for m in a.models.split(",")]
    if not a.no_64:
        rows += [(m, (3, 64, 64), a.batch // 2) for m in ("dcgan",) if m in a.models.split(",")]
    print(
        f"\npeak memory: {'GPU memory allocated in the row' if device.type == 'cuda' else 'the process peak RSS so far'}"
    )
    print("| model | image | batch | train img/s | MFLOP/img | % of peak | sample img/s | peak memory MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, shape, batch in rows:
        mc = ModelConfig(**{**base.__dict__, "name": name})
        if name in DENOISER_PRESETS:  # the denoisers' own recipe (a U-Net), the latent is the noise image
            mc = ModelConfig(**{**preset_config(DENOISER_PRESETS[name]).model.__dict__, "name": name})
            mc.z_dim = shape[0] * shape[1] * shape[2]
        if shape[1] == 64:
            mc = ModelConfig(**{**preset_config(a.faces_preset).model.__dict__})
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        r = bench_model(
            mc, shape, batch, device, precision, a.steps, a.repeats, channels_last=True, cuda_graphs=a.cuda_graphs
        )
        pct = 100 * r["train_ips"] * r["flops"] / 1e9 / peak
        print(
            f"| {name} | {'x'.join(map(str, shape[::-1][:2]))}x{shape[0]} | {batch} | {r['train_ips']:.0f} | "
            f"{r['flops'] / 1e6:.1f} | {pct:.0f}% | {r['sample_ips']:.0f} | {peak_memory_mib(device):.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
