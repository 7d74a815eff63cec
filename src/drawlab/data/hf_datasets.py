"""``hf:PATH``: a Hugging Face ``datasets`` dataset read from local files, never downloaded.

PATH is a folder written by ``save_to_disk`` (a Dataset, or a DatasetDict whose ``train`` split is taken),
one parquet file, or a folder of parquet files (as the Hub stores a dataset). Needs the optional
``datasets`` library (``pip install 'drawlab[hf]'``); without it, one line says so.

Columns: the image column is the one of feature type ``Image`` (else one named image/img/picture/pixels),
the label column the ``ClassLabel`` one (its names become the classes; else an integer column named
label/labels/class/y, its distinct values the classes); ``--columns IMAGE[,LABEL]`` names them instead
(``--columns img,-``: no labels). Images of any size and mode go through the folders' decoding (``--fit``,
alpha over white, grey or RGB); the default size and channels are the images' own when all are square,
of one size, else 64 and colour if any is. What was used is said in one line of the run's log.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from drawlab.data.base import Argument, Source, Spec, register, user_path
from drawlab.data.dataset import ImageDataset
from drawlab.data.decode import Fit, is_colour_mode, to_channels, to_square
from drawlab.data.digits import dataset_from_arrays
from drawlab.errors import DataError

if TYPE_CHECKING:
    from drawlab.config import DataConfig

IMAGE_NAMES = ("image", "img", "picture", "pixels")
LABEL_NAMES = ("label", "labels", "class", "y")
DEFAULT_SIZE = 64  # when the images are not all square and of one size


def _library() -> Any:
    """The ``datasets`` module, offline; one line saying how to get it otherwise."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local files only: never ask the Hub
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise DataError("hf: needs the datasets library: pip install 'drawlab[hf]' (or pip install datasets)") from None
    datasets.disable_progress_bars()  # drawlab's log says in one line what was read
    datasets.logging.set_verbosity_error()
    return datasets


def load_local(path: Path, cache: Path) -> tuple[Any, str]:
    """(the ``datasets.Dataset`` at ``path``, how it was read in a few words); DataError when it is none."""
    datasets = _library()
    if path.is_dir() and (path / "dataset_dict.json").is_file():
        splits = datasets.load_from_disk(str(path))
        split = "train" if "train" in splits else sorted(splits)[0]
        return splits[split], f"split '{split}' of {', '.join(sorted(splits))}"
    if path.is_dir() and (path / "state.json").is_file():
        return datasets.load_from_disk(str(path)), "saved to disk"
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet")) if path.is_dir() else []
    if not files or any(f.suffix != ".parquet" for f in files):
        raise DataError(f"hf:{path}: neither a folder written by save_to_disk nor parquet files: give one of those")
    try:
        ds = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train", cache_dir=str(cache))
    except Exception as e:  # a broken parquet file: pyarrow's errors have no common type
        raise DataError(f"hf:{path}: could not read the parquet files ({str(e).splitlines()[0]})") from None
    return ds, f"{len(files)} parquet file{'s' if len(files) > 1 else ''}"


def pick_columns(features: dict[str, Any], asked: str | None) -> tuple[str, str | None]:
    """(image column, label column or None) by ``--columns`` (``IMAGE[,LABEL]``, LABEL ``-`` for none), else by
    feature type, else by the usual names."""
    datasets = _library()
    names = list(features)
    if asked:
        image, _, label = asked.partition(",")
        for col in (image, label):
            if col and col != "-" and col not in features:
                raise DataError(f"--columns {asked}: no column {col!r}; the columns are {', '.join(names)}")
        return image, (label if label and label != "-" else None)
    images = [c for c, f in features.items() if isinstance(f, datasets.Image)]
    images = images or [c for c in names if c.lower() in IMAGE_NAMES]
    if not images:
        raise DataError(f"no image column among {', '.join(names)}: name it with --columns IMAGE[,LABEL]")
    labels = [c for c, f in features.items() if isinstance(f, datasets.ClassLabel)]
    labels = labels or [c for c in names if c.lower() in LABEL_NAMES and c != images[0]]
    return images[0], (labels[0] if labels else None)


def as_pil(value: Any, row: int) -> Image.Image:
    """One cell of the image column as a PIL image: a decoded Image, a {'bytes', 'path'} dict, or an array."""
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict) and (value.get("bytes") or value.get("path")):
        return Image.open(io.BytesIO(value["bytes"]) if value.get("bytes") else value["path"])
    a = np.asarray(value)
    if a.ndim in (2, 3) and a.size and np.issubdtype(a.dtype, np.number):
        if a.dtype != np.uint8:
            a = np.clip(np.rint(a * 255 if a.max() <= 1.0 else a), 0, 255).astype(np.uint8)
        return Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a)
    raise DataError(f"row {row}: the image column holds {type(value).__name__}, not an image or pixel array")


def read_hf(path: Path, cache: Path, dc: DataConfig) -> tuple[np.ndarray, np.ndarray | None, list[str], str]:
    """(images uint8 (N, C, S, S), labels int64 (N,) or None, class names, one line of what was used)."""
    datasets = _library()
    ds, how = load_local(path, cache)
    image_col, label_col = pick_columns(dict(ds.features), dc.columns)
    if len(ds) == 0:
        raise DataError(f"hf:{path}: the dataset has no rows")
    pics: list[Image.Image] = []
    for row, value in enumerate(ds[image_col]):
        try:
            pics.append(as_pil(value, row))
        except DataError:
            raise
        except Exception:
            raise DataError(f"hf:{path}: row {row}'s image could not be decoded") from None
    sizes = {p.size for p in pics}
    native = len(sizes) == 1 and next(iter(sizes))[0] == next(iter(sizes))[1]
    size = dc.size or (next(iter(sizes))[0] if native else DEFAULT_SIZE)
    channels = dc.channels or (3 if any(is_colour_mode(p.mode) for p in pics) else 1)
    fit = Fit(dc.fit)
    images = np.empty((len(pics), channels, size, size), dtype=np.uint8)
    for k, p in enumerate(pics):
        a = np.asarray(to_square(to_channels(p, channels), size, fit), dtype=np.uint8)
        images[k] = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    labels, classes, said_labels = None, [], "no labels"
    if label_col is not None:
        feature = ds.features[label_col]
        raw = np.asarray(ds[label_col])
        if not np.issubdtype(raw.dtype, np.integer):
            raise DataError(f"hf:{path}: label column {label_col!r} is not whole numbers: name another with --columns")
        if isinstance(feature, datasets.ClassLabel):
            classes, labels = list(feature.names), raw.astype(np.int64)
            if labels.min() < 0:
                raise DataError(f"hf:{path}: label column {label_col!r} has unlabelled rows (-1): drop them first")
        else:
            values, labels = np.unique(raw, return_inverse=True)
            classes, labels = [str(v) for v in values], labels.astype(np.int64)
        said_labels = f"labels '{label_col}', {len(classes)} classes"
    oblong = sum(1 for w, h in sizes if w != h)
    shapes = f"{len(sizes)} sizes" if len(sizes) > 1 else "{}x{}".format(*next(iter(sizes)))
    fitted = f", non-square made square by --fit {fit.value}" if oblong else ""
    said = f"hf: {len(pics):,} rows ({how}), images '{image_col}' ({shapes}{fitted}) as {size}x{size}x{channels}"
    return images, labels, classes, f"{said}, {said_labels}"


@register
class HfDatasets(Source):
    """``hf:PATH``: see the module docstring."""

    name = "hf"
    summary = "a Hugging Face datasets dataset on disk: a save_to_disk folder or parquet files (needs datasets)"
    rank = 52
    argument = Argument.FILE
    hint = "a folder written by save_to_disk, or parquet file(s), e.g. hf:./my_dataset"

    def example(self, folder: Path) -> str:
        """tiny-hf/: 6 RGB images of 10x8 (not square) with a ClassLabel of two names, saved to disk."""
        datasets = _library()
        rng = np.random.default_rng(0)
        pics = [Image.fromarray(rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)) for _ in range(6)]
        features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["cat", "dog"])})
        ds = datasets.Dataset.from_dict({"image": pics, "label": [k % 2 for k in range(6)]}, features=features)
        ds.save_to_disk(str(folder / "tiny-hf"))
        return f"{self.name}:tiny-hf"

    def open(self, spec: Spec, dc: DataConfig, root: Path, max_memory_bytes: int) -> ImageDataset:
        assert spec.arg is not None
        path = user_path(spec.arg)
        if not path.exists():
            raise DataError(f"hf:{spec.arg}: no such file or folder")
        images, labels, classes, said = read_hf(path, root / "hf-cache", dc)
        name = f"hf-{path.stem}"
        return dataset_from_arrays(name, (images, labels), classes, None, None, max_memory_bytes, said)
