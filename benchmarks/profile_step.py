"""The default preset's training step (cgan, batch 128) on this CPU, in variants, and its profile.

    python benchmarks/profile_step.py base        # as drawlab trains: channels-last, foreach Adam, eager
    python benchmarks/profile_step.py fused       # fused Adam
    python benchmarks/profile_step.py noforeach   # per-tensor Adam
    python benchmarks/profile_step.py nocl        # contiguous (NCHW) memory
    python benchmarks/profile_step.py compile     # torch.compile of every trained network
    python benchmarks/profile_step.py prof        # + the torch.profiler table of 10 steps

Prints training images/s (median of 5 x 20 steps after 5 warm-up steps).
"""

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from torch.profiler import ProfilerActivity, profile

from bench_speed import fake_dataset
from drawlab.config import preset_config
from drawlab.data import Batches
from drawlab.models import build_family

variant = sys.argv[1] if len(sys.argv) > 1 else "base"
mc = preset_config("mnist-cgan").model
fam = build_family(mc, (1, 28, 28), 10)
fam.to(torch.device("cpu"), channels_last="nocl" not in variant)
if "fused" in variant:
    for k, o in fam.opts.items():
        for g in o.param_groups:
            g["fused"] = True
            g["foreach"] = False
if "noforeach" in variant:
    for k, o in fam.opts.items():
        for g in o.param_groups:
            g["foreach"] = False
gen = torch.Generator().manual_seed(0)
it = Batches(fake_dataset((1, 28, 28)), 128, seed=0, device=torch.device("cpu")).iterate()
step = lambda: fam.train_step(*next(it), gen)
if "compile" in variant:
    for k in list(fam.nets):
        fam.nets[k] = torch.compile(fam.nets[k]) if k != "G_ema" else fam.nets[k]
for _ in range(5):
    step()
rates = []
for _ in range(5):
    t = time.perf_counter()
    for _ in range(20):
        step()
    rates.append(20 * 128 / (time.perf_counter() - t))
print(variant, "train img/s", round(statistics.median(rates)), [round(r) for r in rates])
if "prof" in variant:
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(10):
            step()
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
