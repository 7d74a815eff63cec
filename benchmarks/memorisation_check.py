"""Memorisation check on raw vs standardised pixels: generated samples of runs, exact / noisy / rescaled copies of
training images, and held-out real images (the table in RESULTS, third session).

    python benchmarks/memorisation_check.py RUN [RUN ...]

``std_pixels`` z-scores each image, the experiment that led to ``memorisation.standardise`` (which scales to the
real images' average brightness and contrast instead: the same distances up to one common factor).
"""

import sys

import numpy as np
import torch

from drawlab.data import default_data_root, open_configured
from drawlab.latent import seeded_noise
from drawlab.metrics import memorisation as M
from drawlab.metrics.features import real_images
from drawlab.run import RunDir


def std_pixels(images):
    x = M.pixels(images).astype(np.float64)
    x = x - x.mean(1, keepdims=True)
    return (x / np.maximum(x.std(1, keepdims=True), 1e-3)).astype(np.float32)


for run in sys.argv[1:]:
    fam, c, facts, ck = RunDir(run).open_family(None, torch.device("cpu"))
    ds = open_configured(c.data, str(c.data.root or default_data_root()))
    g = torch.Generator().manual_seed(20_000)
    perm = torch.randperm(len(ds), generator=g)
    hold, ref = perm[:1000].sort().values, perm[1000:].sort().values
    ih, ir = real_images(ds, hold), real_images(ds, ref)
    fake = fam.draw(seeded_noise(1000, c.model.z_dim, 0), torch.zeros(1000, dtype=torch.long))
    noisy = (ir[200:400].float() + torch.randn(200, *ir.shape[1:]) * 8).clamp(0, 255).to(torch.uint8)
    bright = (ir[400:600].float() * 0.7 + 40).clamp(0, 255).to(torch.uint8)  # a copy, darker and washed out
    for P, name in ((M.pixels, "pixels"), (std_pixels, "standardised")):
        res = {
            k: M.memorisation(P(ir), P(ih), P(x)).share
            for k, x in (("fake", fake), ("copies", ir[:200]), ("noisy", noisy), ("rescaled copies", bright))
        }
        print(run, name, res, "held-out", M.memorisation(P(ir), P(ih), P(fake)).heldout_share, flush=True)
