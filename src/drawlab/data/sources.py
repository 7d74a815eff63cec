"""``open_dataset``, the one entry point, and the spec functions: each walks the registry of sources
(``drawlab.data.base``), none names a source."""

from __future__ import annotations

import dataclasses
import numbers
import os
from pathlib import Path

import torch

from drawlab.config import FITS, DataConfig
from drawlab.data.base import REGISTRY, Source, Spec, registered, user_path
from drawlab.data.dataset import ImageDataset, make_fingerprint
from drawlab.errors import DataError

MIN_SIZE, MAX_SIZE = 4, 1024
_DEFAULTS = DataConfig()


def default_data_root() -> Path:
    """Env DRAWLAB_DATA if set, else ~/.cache/drawlab (datasets under it, decoded folders in cache/)."""
    env = os.environ.get("DRAWLAB_DATA", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "drawlab"


def list_sources() -> list[tuple[str, str]]:
    """(spec usage, one-line summary) for each registered source, in display order: ('folder:PATH', ...)."""
    return [(s.usage, s.summary) for s in registered()]


def spec_help() -> str:
    """The specs drawlab takes, for help and errors: 'mnist, ..., folder:PATH (or the path of a folder)'."""
    sources = registered()
    bare = [s.bare for s in sources if s.bare]
    return ", ".join(s.usage for s in sources) + (f" (or {' or '.join(bare)})" if bare else "")


def _whole(value: object) -> int | None:
    """``value`` as an int when it is a whole number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _check_options(size: object, channels: object, max_memory_bytes: object) -> tuple[int | None, int | None, int]:
    """(size, channels, max_memory_bytes) as ints; DataError unless size is None or in [4, 1024],
    channels None, 1 or 3, and max_memory_bytes >= 0."""
    n = _whole(size)
    if size is not None and (n is None or not MIN_SIZE <= n <= MAX_SIZE):
        raise DataError(f"image size must be a whole number from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    c = _whole(channels)
    if channels is not None and c not in (1, 3):
        raise DataError(f"channels must be 1 (gray) or 3 (RGB), got {channels!r}")
    m = _whole(max_memory_bytes)
    if m is None or m < 0:
        raise DataError(f"max_memory_bytes must be a whole number >= 0, got {max_memory_bytes!r}")
    return n, c, m


def _source_of(text: str) -> Source:
    """The source whose spec ``text`` (stripped, non-empty) is: by name first, then bare specs."""
    sources = registered()
    for source in sources:
        if source.recognises(text):
            return source
    for source in sources:
        if source.recognises_bare(text):
            return source
    raise DataError(f"unknown dataset {text!r}: use one of {spec_help()}")


def parse_spec(spec: str) -> Spec:
    """The parsed spec: ``Spec('mnist')``, ``Spec('folder', 'PATH')``; DataError (one line) when no
    source takes it or it is malformed."""
    if not isinstance(spec, str) or not spec.strip():
        raise DataError(f"no dataset given: use one of {spec_help()}")
    text = spec.strip()
    return _source_of(text).parse(text)


def absolute_spec(spec: str) -> str:
    """``spec`` as config.json stores it: the same data from any working directory (a relative path made
    absolute, a bare folder path written ``folder:/abs``); a spec the sources reject is kept as given,
    for ``open_dataset`` to say what is wrong with it."""
    try:
        parsed = parse_spec(spec)
        return REGISTRY[parsed.kind].absolute(parsed)
    except DataError:
        return spec


def open_dataset(
    spec: str,
    root: str | Path | None = None,
    size: int | None = None,
    channels: int | None = None,
    max_memory_bytes: int = 1 << 30,
    patches: int = _DEFAULTS.patches,
    patch_flips: bool = _DEFAULTS.patch_flips,
    fit: str = _DEFAULTS.fit,
    columns: str | None = _DEFAULTS.columns,
) -> ImageDataset:
    """Open a dataset as uint8 (N, C, size, size) images, in memory or streaming.

    spec: one of ``spec_help()`` (``drawlab data``). root: data root (default ``default_data_root()``).
    size: output side (default: the source's, 28 for MNIST-style, 64 for folders); channels: 1 or 3
    (default native). Streams when N*C*size*size > max_memory_bytes (sources that can). patches,
    patch_flips, fit, columns: options of the sources that read them (``DataConfig``).
    """
    parsed = parse_spec(spec)
    size, channels, max_memory_bytes = _check_options(size, channels, max_memory_bytes)
    if fit not in FITS:
        raise DataError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    if columns is not None and parsed.kind != "hf":
        raise DataError(f"--columns names the columns of an hf:PATH dataset, not of {parsed.kind}: drop it")
    data_root = user_path(root) if root is not None else default_data_root()
    dc = DataConfig(
        spec=parsed.text,
        root=str(data_root),
        size=size,
        channels=channels,
        patches=patches,
        patch_flips=patch_flips,
        fit=fit,
        columns=columns,
    )
    return REGISTRY[parsed.kind].open(parsed, dc, data_root, max_memory_bytes)


def run_data(dc: DataConfig, root: str | Path | None = None) -> tuple[ImageDataset, Path]:
    """A run's data and the root it was found under (``root``, else the run's ``dc.root``, else
    ``default_data_root()``): what evaluate, the report and the explorer read as "the real images"."""
    where = Path(root or dc.root or default_data_root()).expanduser()
    return open_configured(dc, str(where)), where


def open_configured(dc: DataConfig, root: str | Path | None = None) -> ImageDataset:
    """The dataset a run's ``DataConfig`` describes: ``open_dataset``, then only ``dc.limit`` images (drawn
    once with a fixed seed: mnist-5k is sorted by class, so its first 1,000 would be only zeros and ones)
    and pixels binarised at the midpoint when asked. ``root`` overrides ``dc.root``."""
    if dc.limit is not None and dc.limit < 1:
        raise DataError(f"--limit must be at least 1, got {dc.limit}")
    ds = open_dataset(
        dc.spec,
        root if root is not None else dc.root,
        dc.size,
        dc.channels,
        patches=dc.patches,
        patch_flips=dc.patch_flips,
        fit=dc.fit,
        columns=dc.columns,
    )
    if dc.limit is None and not dc.binarize:
        return ds
    if ds.images is None:
        raise DataError(
            f"--limit and --binarize work on data that fits in memory; {ds.name} is streamed from disk: "
            "use a smaller --size or a smaller folder"
        )
    n = min(len(ds), dc.limit or len(ds))
    # N images drawn once with a fixed seed, not the first N: a source may be sorted by class (mnist-5k is)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:n].sort().values
    images, labels = ds.images[idx], (ds.labels[idx] if ds.labels is not None else None)
    if dc.binarize:
        images = (images >= 128).to(torch.uint8) * 255
    name = ds.name + (f" ({n} of them)" if dc.limit else "") + (", binarised" if dc.binarize else "")
    return dataclasses.replace(
        ds,
        name=name,
        images=images,
        labels=labels,
        fingerprint=make_fingerprint(ds.fingerprint, "random-subset-seed0", n, dc.binarize),
    )
