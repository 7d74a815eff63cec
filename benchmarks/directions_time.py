"""The explorer's start: principal directions (GANSpace) of a run's first layer by drawlab's subspace iteration
against a full float64 SVD of the same activations, on one thread.

    OMP_NUM_THREADS=1 python benchmarks/directions_time.py [RUN]      # default: pretrained:mnist-cgan
"""

from __future__ import annotations

import platform
import sys
import time

import torch

from drawlab.api import load
from drawlab.explore.directions import SAMPLES, SEED, balanced_labels, hidden_activations, seeded_noise
from drawlab.latent import principal_directions


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> int:
    torch.set_num_threads(1)
    run = sys.argv[1] if len(sys.argv) > 1 else "pretrained:mnist-cgan"
    d = load(run)
    z, y = seeded_noise(SAMPLES, d.z_dim, SEED), balanced_labels(SAMPLES, d.num_classes)
    h, layer = hidden_activations(d, z, y)
    if d.conditional:
        for c in range(d.num_classes):
            h[y == c] -= h[y == c].mean(0)
    print(f"{cpu_model()}, one thread; {run}: activations {tuple(h.shape)} at {layer}")
    t = time.perf_counter()
    new, share = principal_directions(z, h, 6)
    print(f"subspace iteration: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    c = h.double() - h.double().mean(0)
    _, s, vt = torch.linalg.svd(c, full_matrices=False)
    u = torch.linalg.lstsq(c @ vt[:6].T, z.double() - z.double().mean(0)).solution
    print(f"full SVD: {time.perf_counter() - t:.1f} s")
    cos = (new.double() * (u / u.norm(dim=1, keepdim=True))).sum(1).abs()
    print("1 - |cos| per direction:", " ".join(f"{v:.1e}" for v in (1 - cos).abs().tolist()))
    print(
        "shares:",
        " ".join(f"{v:.4f}" for v in share.tolist()),
        "| SVD:",
        " ".join(f"{v:.4f}" for v in (s[:6] ** 2 / (s**2).sum()).tolist()),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
