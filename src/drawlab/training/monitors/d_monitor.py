"""D's outputs through training: histograms of D on a fixed set of real images and on images from
fixed noise, at the end of every epoch (or every ``--monitor-every`` steps), with the ROC-AUC of D
separating the two. D judges each image on its own (evaluation mode: BatchNorm's running statistics),
so the numbers say what D thinks of an image, not of a batch of one kind: in training mode a
BatchNorm D also reads the batch's statistics, and separates all-real from all-generated batches
almost perfectly long after single images have become hard to tell apart. The generated images
come from the training generator as D meets it in training. Stored in ``RUN/monitor/d_hist.npz``
(records/histograms.py; appended, trimmed on resume), TensorBoard histograms, and one ``"monitor": true``
record per snapshot in metrics.jsonl."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch

from ...data.batches import to_unit_range
from ...latent import seeded_noise
from ...losses import roc_auc
from ...models.adversarial import AdversarialFamily
from ...records import histograms
from ..events import Observer
from ..view import RunView
from . import register

N_IMAGES = 512  # real and generated images per snapshot
BINS = 50
MIN_STEPS = 25  # epoch snapshots at most this often: tiny datasets have epochs of a few steps


def adversarial(view: RunView) -> AdversarialFamily:
    """The run's family, which has a D (the monitor applies to no other)."""
    return cast(AdversarialFamily, view.family)


@register
class DMonitor(Observer):
    """Snapshots of D's judgement of fixed real and fixed generated images (see the module docstring)."""

    name = "d-monitor"
    order = 20

    def __init__(self, every: int | None, n: int = N_IMAGES, bins: int = BINS):
        self.every, self.n, self.bins = every, n, bins
        self.history: dict[str, Any] | None = None
        self.last_step = -1

    @classmethod
    def build(cls, view: RunView) -> DMonitor | None:
        return cls(view.cfg.monitor_every) if view.family.adversarial else None

    def on_start(self, t: RunView) -> None:
        fam, cfg, data = adversarial(t), t.cfg, t.data
        n = min(self.n, len(data))
        g = torch.Generator().manual_seed(cfg.seed + 3)
        idx = torch.randperm(len(data), generator=g)[:n].sort().values
        items = [data.load_item(int(i)) for i in idx]
        self.real = to_unit_range(torch.stack([x for x, _ in items])).to(t.device)
        labels = torch.as_tensor([int(y) for _, y in items], dtype=torch.long)
        self.labels = labels.to(t.device) if fam.conditional else torch.zeros(n, dtype=torch.long, device=t.device)
        self.z = seeded_noise(n, cfg.model.z_dim, cfg.seed + 2, t.device)
        r = fam.readout
        self.edges = np.linspace(r.lo, r.hi, self.bins + 1)
        self.path = t.run.monitor / histograms.FILE
        self.history = histograms.trimmed(histograms.load_history(self.path), t.step, r.scale.value, self.edges)
        self.stride = max(1, math.ceil(MIN_STEPS / t.steps_per_epoch))
        if t.step == 0:
            self.snapshot(t)  # before training: D cannot tell yet, the picture starts at AUC ~0.5

    def on_step(self, t: RunView) -> None:
        if self.every and t.step % self.every == 0:
            self.snapshot(t)

    def on_epoch_end(self, t: RunView, epoch: int) -> None:
        if not self.every and epoch % self.stride == 0:
            self.snapshot(t)

    def on_finish(self, t: RunView, result) -> None:
        if self.last_step != t.step and (self.history is None or int(self.history["step"][-1]) != t.step):
            self.snapshot(t)

    def measure(self, t: RunView) -> dict[str, Any]:
        """One snapshot: D's values (on the loss's scale) on the fixed real and generated images."""
        fam = adversarial(t)
        fake = fam.generate_training(self.z, self.labels, t.cfg.batch_size)
        real_logits = fam.judge(self.real, self.labels, t.cfg.batch_size, as_in_training=False)
        fake_logits = fam.judge(fake, self.labels, t.cfg.batch_size, as_in_training=False)
        r = fam.readout
        rv, fv = r.values(real_logits), r.values(fake_logits)
        lo, hi = self.edges[0], self.edges[-1]
        hist = [np.histogram(v.numpy().clip(lo, hi), self.edges)[0] / max(1, len(v)) for v in (rv, fv)]
        return {
            "step": t.step,
            "epoch": t.epoch,
            "real_hist": hist[0],
            "fake_hist": hist[1],
            "auc": roc_auc(real_logits, fake_logits),
            "real_mean": float(rv.mean()),
            "fake_mean": float(fv.mean()),
            "real_values": rv,
            "fake_values": fv,
        }

    def snapshot(self, t: RunView) -> None:
        m = self.measure(t)
        self.last_step = t.step
        r = adversarial(t).readout
        self.history = histograms.appended(self.history, m, self.edges, r.scale.value, len(self.real))
        histograms.save_history(self.path, self.history)
        t.log.log_record(
            {
                "step": t.step,
                "epoch": round(m["epoch"], 3),
                "monitor": True,
                "d_auc": round(m["auc"], 5),
                f"{r.keys[0]}_fixed": round(m["real_mean"], 5),
                f"{r.keys[1]}_fixed": round(m["fake_mean"], 5),
            }
        )
        t.log.add_histogram("discriminator/real", m["real_values"], t.step)
        t.log.add_histogram("discriminator/generated", m["fake_values"], t.step)
        t.log.reset_clock()
