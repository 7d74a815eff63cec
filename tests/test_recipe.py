"""The recipe chosen for a folder given alone (drawlab/recipe.py), and the faces preset that picks by budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY, write_images
from drawlab.cli import main
from drawlab.config import PRESETS, pick_by_minutes, preset_config
from drawlab.data.folder import FolderFacts, folder_facts
from drawlab.recipe import FEW_IMAGES, choose


@pytest.mark.parametrize(
    "facts, preset, size, channels",
    [
        (FolderFacts(10_000, 10, 28, 0.0, 256), "mnist-cgan", 28, 1),  # Fashion-MNIST as PNGs
        (FolderFacts(5_000, 0, 32, 0.9, 256), "mnist-dcgan", 32, 3),  # unlabelled colour sprites
        (FolderFacts(823, 0, 64, 0.99, 256), "faces-dcgan", 64, 3),  # a few hundred icons
        (FolderFacts(10_000, 0, 89, 1.0, 256), "faces", 64, 3),  # CelebA
        (FolderFacts(FEW_IMAGES, 3, 128, 0.2, 256), "faces", 64, 1),  # many grey photos, classes unused
    ],
)
def test_the_recipe_follows_from_what_the_folder_holds(facts: FolderFacts, preset: str, size: int, channels: int):
    c = choose(facts)
    assert (c.preset, c.size, c.channels) == (preset, size, channels)
    assert c.preset in PRESETS and f"{facts.count:,}" in c.why
    assert ("classes are not used" in c.why) == (preset == "faces" and facts.classes > 0)


def test_folder_facts_read_the_listing_and_headers_only(tmp_path: Path) -> None:
    write_images(tmp_path / "digits", 12, size=20, classes=("a", "b", "c"))
    f = folder_facts(tmp_path / "digits")
    assert (f.count, f.classes, f.side, f.colour, f.looked_at) == (12, 3, 20, 0.0, 12)
    colour = tmp_path / "colour"
    colour.mkdir()
    for i, (w, h) in enumerate([(60, 80), (100, 70), (64, 64)]):
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(colour / f"{i}.png")
    f = folder_facts(colour)
    assert (f.count, f.classes, f.side, f.colour) == (3, 0, 64, 1.0)  # median of the shorter sides 60, 70, 64


def test_a_folder_alone_trains_the_chosen_recipe_and_says_why(tmp_path: Path, capsys) -> None:
    data = write_images(tmp_path / "d", 32, size=20, classes=("x", "y"))
    assert main(["train", "--data", f"folder:{data}", "--steps", "2", "--out", str(tmp_path / "r"), *TINY[4:]]) == 0
    err = capsys.readouterr().err
    assert f"recipe: mnist-cgan at 28x28x1 for folder:{data}, as it holds 32 grey images" in err
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert cfg["preset"] == "mnist-cgan" and cfg["model"]["name"] == "cgan"
    assert (cfg["data"]["size"], cfg["data"]["channels"]) == (28, 1)
    assert (
        main(
            [
                "train",
                "--data",
                f"folder:{data}",
                "--size",
                "16",
                "--steps",
                "2",
                "--out",
                str(tmp_path / "s"),
                *TINY[4:],
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "s" / "config.json").read_text())["train"]["data"]["size"] == 16  # options win
    capsys.readouterr()
    assert (
        main(["train", "--model", "dcgan", "--data", f"folder:{data}", "--dry-run", "--out", str(tmp_path / "t")]) == 0
    )
    assert "recipe:" not in capsys.readouterr().err  # a model named: no recipe chosen


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["train", "--data", f"folder:{tmp_path / 'none'}", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not exist" in err


def test_the_faces_preset_picks_its_recipe_by_minutes() -> None:
    for minutes in (1, 10, 30, 120):
        name, why = pick_by_minutes("faces", minutes)
        assert name in PRESETS and "by_minutes" not in PRESETS[name] and f"faces at {minutes:g} minutes" in why
        cfg = preset_config("faces", minutes)
        assert cfg.preset == name and cfg.minutes == minutes
        assert (cfg.data.size, cfg.data.channels) == (64, 3)
    assert pick_by_minutes("mnist-cgan", 5) is None
    assert preset_config("faces").minutes == PRESETS["faces"]["minutes"]
