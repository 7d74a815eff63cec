"""hf:PATH, a Hugging Face ``datasets`` dataset read from local files: saved to disk, a DatasetDict's train
split, parquet files; columns found by type or named; every bad input one line."""

from __future__ import annotations

import builtins
from pathlib import Path

import datasets  # the optional dependency of hf: (in the test extra, so never skipped)
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY
from drawlab.cli import main
from drawlab.data import open_dataset
from drawlab.errors import DataError


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAWLAB_OFFLINE", "1")
    monkeypatch.setenv("DRAWLAB_DATA", str(tmp_path / "data-root"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # never the user's Hugging Face cache


def pictures(n: int, size: tuple[int, int] = (8, 8)) -> list[Image.Image]:
    """Image k is flat grey 20 k: the row order shows in the pixels."""
    return [Image.new("L", size, 20 * k) for k in range(n)]


def labelled(n: int = 6, **kw) -> datasets.Dataset:
    features = datasets.Features({"img": datasets.Image(), "fine": datasets.ClassLabel(names=["cat", "dog", "owl"])})
    return datasets.Dataset.from_dict({"img": pictures(n, **kw), "fine": [k % 3 for k in range(n)]}, features=features)


def test_a_dataset_saved_to_disk_gives_its_images_labels_and_class_names(tmp_path: Path) -> None:
    labelled().save_to_disk(str(tmp_path / "ds"))
    ds = open_dataset(f"hf:{tmp_path / 'ds'}")
    assert ds.shape == (1, 8, 8) and len(ds) == 6 and ds.class_names == ["cat", "dog", "owl"]
    assert ds.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert [int(ds.images[k].max()) for k in range(6)] == [0, 20, 40, 60, 80, 100]
    assert ds.notice == ("hf: 6 rows (saved to disk), images 'img' (8x8) as 8x8x1, labels 'fine', 3 classes")


def test_parquet_files_and_a_dataset_dicts_train_split_read_the_same(tmp_path: Path) -> None:
    labelled().to_parquet(str(tmp_path / "pq" / "train-00000.parquet"))
    datasets.DatasetDict({"test": labelled(3), "train": labelled(6)}).save_to_disk(str(tmp_path / "dd"))
    one = open_dataset(f"hf:{tmp_path / 'pq' / 'train-00000.parquet'}")
    folder = open_dataset(f"hf:{tmp_path / 'pq'}")
    split = open_dataset(f"hf:{tmp_path / 'dd'}")
    assert len(one) == len(folder) == len(split) == 6
    assert torch.equal(one.images, folder.images) and torch.equal(one.images, split.images)
    assert one.class_names == split.class_names == ["cat", "dog", "owl"]
    assert "split 'train' of test, train" in split.notice and "1 parquet file" in one.notice


def test_columns_are_named_when_asked_and_plain_integers_become_classes(tmp_path: Path) -> None:
    raw = datasets.Dataset.from_dict({"a": pictures(4), "b": pictures(4), "y": [7, 3, 7, 9]})
    raw.save_to_disk(str(tmp_path / "raw"))
    spec = f"hf:{tmp_path / 'raw'}"
    ds = open_dataset(spec)  # the first Image column, 'a'; 'y' (a usual name) holds the labels
    assert "images 'a'" in ds.notice and ds.class_names == ["3", "7", "9"] and ds.labels.tolist() == [1, 0, 1, 2]
    picked = open_dataset(spec, columns="b,-")
    assert picked.labels is None and "images 'b'" in picked.notice and "no labels" in picked.notice
    with pytest.raises(DataError, match=r"^--columns c: no column 'c'; the columns are a, b, y$"):
        open_dataset(spec, columns="c")


def test_non_square_images_follow_fit_and_take_the_default_size(tmp_path: Path) -> None:
    labelled(size=(12, 6)).save_to_disk(str(tmp_path / "wide"))
    ds = open_dataset(f"hf:{tmp_path / 'wide'}", fit="pad")
    assert ds.shape == (1, 64, 64) and "non-square made square by --fit pad" in ds.notice


def _empty_folder(p: Path) -> None:
    p.mkdir()


def _no_images(p: Path) -> None:
    datasets.Dataset.from_dict({"n": [1, 2]}).save_to_disk(str(p))


def _broken_parquet(p: Path) -> None:
    p.mkdir()
    (p / "x.parquet").write_bytes(b"not parquet")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_empty_folder, "neither a folder written by save_to_disk nor parquet files"),
        (_no_images, "no image column among n"),
        (_broken_parquet, "could not read the parquet files"),
        (None, "no such file or folder"),
    ],
)
def test_bad_datasets_are_one_line_exit_2(tmp_path: Path, make, message: str, capsys) -> None:
    if make is not None:
        make(tmp_path / "bad")
    spec = f"hf:{tmp_path / 'bad'}"
    with pytest.raises(DataError, match=message):
        open_dataset(spec)
    capsys.readouterr()
    assert main(["train", *TINY, "--data", spec, "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_without_the_datasets_library_hf_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labelled().save_to_disk(str(tmp_path / "ds"))
    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets" or name.startswith("datasets."):
            raise ImportError("No module named 'datasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(DataError, match=r"^hf: needs the datasets library: pip install 'drawlab\[hf\]'"):
        open_dataset(f"hf:{tmp_path / 'ds'}")


def test_rgba_and_float_arrays_are_read_as_images(tmp_path: Path) -> None:
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    floats = np.full((8, 8), 0.5, dtype=np.float32)
    features = datasets.Features({"image": datasets.Image()})
    datasets.Dataset.from_dict({"image": [clear, clear]}, features=features).save_to_disk(str(tmp_path / "rgba"))
    datasets.Dataset.from_dict({"pixels": [floats, floats]}).save_to_disk(str(tmp_path / "arr"))
    rgba = open_dataset(f"hf:{tmp_path / 'rgba'}")
    assert rgba.shape == (3, 8, 8) and int(rgba.images.min()) == 255  # transparent: white
    arr = open_dataset(f"hf:{tmp_path / 'arr'}")
    assert arr.shape == (1, 8, 8) and int(arr.images[0, 0, 0, 0]) == 128


def test_a_short_run_trains_on_a_saved_dataset(tmp_path: Path, capsys) -> None:
    labelled(16).save_to_disk(str(tmp_path / "ds"))
    out = tmp_path / "run"
    assert (
        main(["train", *TINY, "--data", f"hf:{tmp_path / 'ds'}", "--model", "cgan", "--steps", "2", "--out", str(out)])
        == 0
    )
    said = capsys.readouterr()
    assert "hf: 16 rows (saved to disk), images 'img' (8x8) as 8x8x1, labels 'fine', 3 classes" in said.out + said.err
    assert sorted(p.name for p in (out / "checkpoints").glob("*.safetensors"))


def test_columns_for_another_source_is_one_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(
        DataError, match=r"^--columns names the columns of an hf:PATH dataset, not of mnist-5k: drop it$"
    ):
        open_dataset("mnist-5k", columns="img")
    capsys.readouterr()
    argv = ["train", *TINY, "--data", "mnist-5k", "--columns", "img", "--steps", "1", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--columns names the columns" in err and not (tmp_path / "r").exists()
