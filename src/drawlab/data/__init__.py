"""Datasets for drawlab: MNIST-style sources, image folders and drawings as uint8 tensors, plus training batches.

Data sources, one file each, are found through the registry (``drawlab data``): every module of this
package is imported once, so a new file with a ``@register``ed ``Source`` subclass (``base.py``) is found
without editing any list; building blocks (batches, decode, digits, ...) simply register nothing.

>>> ds = open_dataset("mnist-5k")            # ImageDataset, images uint8 (5000, 1, 28, 28)
>>> x, y = next(Batches(ds, 64, seed=0).iterate())   # x float32 (64, 1, 28, 28) in [-1, 1]
"""

from __future__ import annotations

import importlib
import pkgutil

from drawlab.data.base import REGISTRY, Argument, Source, Spec, register
from drawlab.data.batches import Batches
from drawlab.data.dataset import DataWarning, ImageDataset
from drawlab.data.sources import (
    absolute_spec,
    default_data_root,
    list_sources,
    open_configured,
    open_dataset,
    parse_spec,
    run_data,
    spec_help,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "REGISTRY",
    "Argument",
    "Batches",
    "DataWarning",
    "ImageDataset",
    "Source",
    "Spec",
    "absolute_spec",
    "default_data_root",
    "list_sources",
    "open_configured",
    "open_dataset",
    "parse_spec",
    "register",
    "run_data",
    "spec_help",
]
