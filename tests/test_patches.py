"""``patches:IMAGE``: crops of one drawing, deterministic, with the example drawing drawlab makes itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY
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
