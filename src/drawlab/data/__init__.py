"""Datasets for drawlab: MNIST-style sources and image folders as uint8 tensors, plus training batches.

>>> ds = open_dataset("mnist-5k")            # ImageDataset, images uint8 (5000, 1, 28, 28)
>>> x, y = next(Batches(ds, 64, seed=0).iterate())   # x float32 (64, 1, 28, 28) in [-1, 1]
"""

from drawlab.data.batches import Batches
from drawlab.data.dataset import DataWarning, ImageDataset
from drawlab.data.sources import default_data_root, list_sources, open_configured, open_dataset

__all__ = [
    "Batches",
    "DataWarning",
    "ImageDataset",
    "default_data_root",
    "list_sources",
    "open_configured",
    "open_dataset",
]
