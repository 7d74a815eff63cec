"""What `drawlab evaluate` records of its measurements: eval.json's record (format: ``records/evals.py``), one
``"eval": true`` line in metrics.jsonl and ``eval/NAME`` scalars in TensorBoard."""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..data import ImageDataset
from ..files import append_jsonl
from ..models import Family
from ..records.evals import EVAL_FORMAT, entry
from ..run import Checkpoint, RunDir
from ..version import __version__
from .features import FeatureNet
from .inputs import SPLIT_SEED
from .registry import Metric, Value


@dataclass(frozen=True)
class Protocol:
    """How one evaluation measured: ``n`` images per set (``n_requested`` asked for), the seed, the nets."""

    n: int
    n_requested: int
    seed: int
    fnet: FeatureNet
    device: torch.device
    sampling: dict[str, Any] | None = None  # the denoisers: sampler, steps, guidance (``Family.sampling``)
    tag: str = ""  # what every metric name adds to pin the sampling (``Family.sampling_tag``)
    sample_seconds: float | None = None  # wall seconds drawing the generated set


def entries(results: Sequence[tuple[Metric, Value]], p: Protocol) -> dict[str, dict[str, Any]]:
    """{full metric name: eval.json entry}, each entry with its own protocol (n, features, split seed)."""
    out = {}
    for m, v in results:
        split = SPLIT_SEED + p.seed if v.split_seed is None else v.split_seed
        protocol = {"n": m.n_used(p.n), "features": m.space or p.fnet.tag, "split_seed": split}
        out[m.name(p.n, p.fnet.tag) + p.tag] = entry(m, v.value, v.spread, v.real, v.real_spread, protocol, **v.extra)
    return out


def _reference(n: int, seed: int) -> str:
    return (
        f"real set A: {n} random training images; real-data reference ('real'): the same "
        f"metric for real set B ({n} other random training images, disjoint from A) "
        f"against A; split seed {SPLIT_SEED + seed}. A and B are mostly images the "
        "feature net trained on (samples are new to it): measured, a floor on never-seen images "
        "is 1.0-1.2x this one (benchmarks/floor_unseen.py)"
    )


def protocol_block(p: Protocol, conditional: bool, results: Sequence[tuple[Metric, Value]]) -> dict[str, Any]:
    """eval.json's "protocol": n, seed, the sets, the feature net, what the metrics add, the versions."""
    fnet = p.fnet
    about: dict[str, Any] = {}
    for _, v in results:
        about.update(v.about)
    return {
        "n": p.n,
        "n_requested": p.n_requested,
        "seed": p.seed,
        "generated": f"{p.n} images from seeded noise (seed {p.seed})"
        + (", labels balanced over the classes" if conditional else ""),
        "reference": _reference(p.n, p.seed),
        "feature_net": {
            "name": fnet.name,
            "tag": fnet.tag,
            "kind": fnet.kind,
            "dim": fnet.dim,
            **{k: v for k, v in fnet.info.items() if k not in ("name", "kind", "dim")},
        },
        **about,
        **_sampling_block(p),
        "drawlab_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "device": str(p.device),
    }


def _sampling_block(p: Protocol) -> dict[str, Any]:
    """How the generated set was drawn and what it cost: CPU-seconds per 1,000 samples (wall seconds x the
    threads torch used, on the CPU; GPU seconds on a GPU)."""
    if p.sample_seconds is None:
        return {}
    threads = torch.get_num_threads() if p.device.type == "cpu" else 1
    per_1k = p.sample_seconds * threads * 1000 / max(p.n, 1)
    return {
        "sampling": {
            **(p.sampling or {"sampler": "one forward pass"}),
            "seconds": round(p.sample_seconds, 2),
            "threads": threads,
            "cpu_seconds_per_1k" if p.device.type == "cpu" else "gpu_seconds_per_1k": round(per_1k, 2),
        }
    }


def record(
    run: RunDir,
    family: Family,
    ck: Checkpoint,
    ds: ImageDataset,
    p: Protocol,
    results: Sequence[tuple[Metric, Value]],
    notes: list[str],
    files: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    """The whole eval.json record."""
    for _, v in results:
        files = {**files, **v.files}
    return {
        "format": EVAL_FORMAT,
        "run": str(run.path.absolute()),
        "model": family.name,
        "conditional": family.conditional,
        "step": ck.step,
        "checkpoint": ck.weights.name,
        "training_seconds": run.training_seconds(ck),  # wall seconds of training up to this checkpoint
        "data_name": ds.name,
        "data_fingerprint": ds.fingerprint,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "protocol": protocol_block(p, family.conditional, results),
        "metrics": entries(results, p),
        "notes": notes,
        "files": files,
        "seconds": round(seconds, 1),
    }


def append_metrics(run: RunDir, record: dict[str, Any]) -> None:
    """One ``{"step": S, "eval": true, NAME: value, NAME_real: reference, ...}`` line in metrics.jsonl."""
    line: dict[str, Any] = {
        "step": record["step"],
        "eval": True,
        "time": time.time(),
        "n": record["protocol"]["n"],
        "feature_net": record["protocol"]["feature_net"]["name"],
    }
    for name, e in record["metrics"].items():
        line[name] = e["value"]
        line[f"{name}_real"] = e["real"]
    append_jsonl(run.metrics, line)
    _log_tensorboard(run, record)


def _log_tensorboard(run: RunDir, record: dict[str, Any]) -> None:
    """``eval/NAME`` scalars at the checkpoint's step in the run's TensorBoard folder."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency; a broken install only loses the curves
        return
    with SummaryWriter(str(run.tensorboard)) as tb:
        for name, e in record["metrics"].items():
            if isinstance(e.get("value"), (int, float)):
                tb.add_scalar(f"eval/{name}", e["value"], record["step"])
