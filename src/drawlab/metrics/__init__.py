"""Measuring what a run learnt (`drawlab evaluate`, `drawlab compare`).

Every module of this package is imported once, so a new file that ``register``s a ``Metric`` is found,
computed by `drawlab evaluate`, shown by compare and the report, and checked by
tests/test_conformance_metrics.py without editing any list.

registry      the Metric object (key, title, better, needs, floor, compute), the registry, names
inputs        the real sets A/B (split_real), what each metric is given (Inputs: exactly its needs)
features      feature nets trained on the run's own data (classifier, or autoencoder for unlabelled folders)
frechet       FID with a real-valued, stable matrix square root      kid   kernel (MMD) distance
swd           sliced Wasserstein distance of Laplacian patches        prdc  precision/recall/density/coverage
coverage      modes, class KL, classifier score, conditional accuracy cas   classification accuracy score
inception     the standard FID in Inception-v3 (local weights)        memorisation  nearness to training images
evaluate      the whole protocol; recording: eval.json's record, metrics.jsonl (format: records/evals.py)
probe         the in-training subset;  report: the terminal table;  compare: Markdown table and bar chart
"""

from __future__ import annotations

import importlib
import pkgutil

from .registry import KINDS, REGISTRY, Metric, Need, Value, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["KINDS", "REGISTRY", "Metric", "Need", "Value", "register"]
