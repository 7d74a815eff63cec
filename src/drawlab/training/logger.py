"""Training logs: running means of step metrics, metrics.jsonl and TensorBoard."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..files import append_jsonl


class MetricsLogger:
    """Accumulates per-step metric tensors (no host sync per step) and writes one record per interval
    to ``metrics.jsonl`` (appended, so a resumed run continues its log) and to TensorBoard."""

    def __init__(
        self,
        jsonl: Path | None,
        tb_dir: Path | None,
        batch_size: int,
        purge_step: int | None = None,
        reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        """``jsonl`` None: compute records without writing them (the other processes of a data-parallel
        run); ``reduce``: the mean over those processes of a (K,) tensor of sums."""
        self.jsonl, self.batch_size, self.reduce = jsonl, batch_size, reduce
        self.tb = None
        if tb_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(tb_dir), purge_step=purge_step)  # hides events of redone steps
            except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
                self.tb = None
        self._sums: dict[str, torch.Tensor] = {}
        self._n = 0
        self._timed = 0  # steps since the last flush
        self._t0 = time.perf_counter()
        self._busy = 0.0  # seconds of stepping since the last flush, before the last pause
        self._last = self._t0  # when the last step ended

    def add(self, metrics: dict[str, torch.Tensor]) -> None:
        for k, v in metrics.items():
            self._sums[k] = self._sums[k] + v if k in self._sums else v.clone()
        self._n += 1
        self._timed += 1
        self._last = time.perf_counter()

    def flush(self, step: int, epoch: float, extra: dict[str, Any] | None = None) -> dict[str, float] | None:
        """Write the means since the last flush; returns the record (None when nothing was added)."""
        if self._n == 0:
            return None
        now = time.perf_counter()
        rec: dict[str, Any] = {"step": step, "epoch": round(epoch, 3), "time": time.time()}
        sums = torch.stack([v.float().reshape(()) for v in self._sums.values()]) if self._sums else None
        if sums is not None and self.reduce is not None:
            sums = self.reduce(sums)
        if sums is not None:
            rec.update({k: round(float(v) / self._n, 5) for k, v in zip(self._sums, sums.tolist())})
        busy = self._busy + max(0.0, self._last - self._t0)  # stepping time only, up to the last step
        rec["img_per_s"] = round(self._timed * self.batch_size / max(busy, 1e-9), 1)
        rec.update(extra or {})
        if self.jsonl is not None:
            append_jsonl(self.jsonl, rec)
        if self.tb is not None:
            for k, v in rec.items():
                if k not in ("step", "time", "epoch") and isinstance(v, (int, float)):
                    self.tb.add_scalar(_tb_name(k), v, step)
        self._sums, self._n, self._timed, self._t0, self._busy, self._last = {}, 0, 0, now, 0.0, now
        return rec

    def discard(self) -> None:
        """Forget what was added since the last flush (steps undone by a rollback)."""
        now = time.perf_counter()
        self._sums, self._n, self._timed, self._t0, self._busy, self._last = {}, 0, 0, now, 0.0, now

    def reset_clock(self) -> None:
        """Leave the time since the last step (a pause such as writing a checkpoint) out of images/s;
        the steps and stepping time already counted in this interval stay counted."""
        now = time.perf_counter()
        self._busy += max(0.0, self._last - self._t0)
        self._t0 = self._last = now

    def log_eval(self, step: int, values: dict[str, float]) -> None:
        """One ``"eval": true`` record in metrics.jsonl and ``eval/NAME`` curves in TensorBoard."""
        rec = {"step": step, "time": time.time(), "eval": True, **{k: round(v, 5) for k, v in values.items()}}
        if self.jsonl is not None:
            append_jsonl(self.jsonl, rec)
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"eval/{k}", v, step)

    def log_record(self, rec: dict[str, Any]) -> None:
        """Append a record of another kind (e.g. ``"monitor": true``) to metrics.jsonl, and its numbers to
        TensorBoard under ``monitor/NAME``."""
        if self.jsonl is not None:
            append_jsonl(self.jsonl, {**rec, "time": time.time()})
        if self.tb is not None:
            for k, v in rec.items():
                if k not in ("step", "epoch") and isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.tb.add_scalar(f"monitor/{k}", v, rec["step"])

    def add_histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        if self.tb is not None:
            self.tb.add_histogram(tag, values.float().cpu().numpy(), step)

    def add_image(self, tag: str, hwc, step: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, hwc, step, dataformats="HW" if hwc.ndim == 2 else "HWC")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.flush()
            self.tb.close()


def _tb_name(k: str) -> str:
    if k.startswith("loss"):
        return f"loss/{k}"
    if k.startswith("d_"):
        return f"discriminator/{'D(x)' if k == 'd_real' else 'D(G(z))' if k == 'd_fake' else k}"
    return f"speed/{k}" if k.endswith("per_s") else k
