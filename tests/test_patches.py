"""``patches:IMAGE``: crops of one drawing, deterministic, with the example drawing drawlab makes itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY, write_images
from drawlab.cli import main
from drawlab.config import DataConfig
from drawlab.data import open_configured, open_dataset
from drawlab.data.patches import make_doodle


def test_patches_are_crops_deterministic_and_flippable(tmp_path: Path) -> None:
    img = np.random.default_rng(0).integers(0, 256, (50, 70), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "d.png")
    ds = open_dataset(f"patches:{tmp_path / 'd.png'}", size=16, patches=30)
    assert ds.images.shape == (30, 1, 16, 16) and ds.labels is None and ds.num_classes == 0
    assert torch.equal(ds.images, open_dataset(f"patches:{tmp_path / 'd.png'}", size=16, patches=30).images)
    a = ds.images[0, 0].numpy()  # each crop is somewhere in the drawing
    found = any(np.array_equal(img[y : y + 16, x : x + 16], a) for y in range(35) for x in range(55))
    assert found
    flipped = open_configured(DataConfig(spec=f"patches:{tmp_path / 'd.png'}", size=16, patches=30, patch_flips=True))
    assert flipped.fingerprint != ds.fingerprint and not torch.equal(flipped.images, ds.images)


def test_example_drawing_is_made_once_and_used() -> None:
    ds = open_dataset("patches:example", patches=10)
    assert ds.images.shape == (10, 1, 32, 32) and ds.name == "patches:example"
    assert np.array_equal(np.asarray(make_doodle(seed=0)), np.asarray(make_doodle(seed=0)))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: Image.fromarray(np.zeros((10, 40), np.uint8)).save(p), "smaller than a 32x32 crop"),
        (lambda p: p.write_text("not a picture"), "not an image drawlab can read"),
        (lambda p: None, "no such file"),
    ],
)
def test_bad_drawings_are_one_line(make, words: str, tmp_path: Path, capsys) -> None:
    p = tmp_path / "d.png"
    make(p)
    assert main(["train", *TINY, "--data", f"patches:{p}", "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("kind", ["patches", "folder", "bare-folder"])
def test_relative_data_path_is_stored_absolute_and_resumes_elsewhere(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_train
) -> None:
    """A run trained with a relative ``patches:``/folder path resumes from another working directory."""
    work = tmp_path / "work"
    (work / "rel").mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)).save(work / "rel" / "img.png")
    if kind != "patches":
        write_images(work / "rel" / "imgs", 32)
    spec, target = {
        "patches": ("patches:rel/img.png", work / "rel" / "img.png"),
        "folder": ("folder:rel/imgs", work / "rel" / "imgs"),
        "bare-folder": ("rel/imgs", work / "rel" / "imgs"),
    }[kind]
    monkeypatch.chdir(work)
    run = tmp_path / "run"
    assert (
        tiny_train(
            "--model", "dcgan", "--data", spec, "--size", "8", "--patches", "32", "--steps", "2", "--out", str(run)
        )
        == 0
    )
    stored = json.loads((run / "config.json").read_text())["train"]["data"]["spec"]
    prefix, path = stored.split(":", 1)
    assert prefix == ("patches" if kind == "patches" else "folder")
    assert Path(path).is_absolute() and Path(path).samefile(target), stored
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--resume", str(run), "--steps", "4", "--no-progress"]) == 0
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 4
