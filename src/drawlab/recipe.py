"""A recipe for a folder nobody tuned one on: `drawlab train --data folder:PATH` with no --preset and no
--model picks a preset from what the folder holds (``data.folder.FolderFacts``: count, classes, typical
side, colour), and says which and why in one line. Measured on folders kept out of every tuning decision
(benchmarks/heldout.py; benchmarks/RESULTS.md, 2026-12-07).

    small (median side < 48 px)     labelled: mnist-cgan      unlabelled: mnist-dcgan   at 28x28 (<= 28 px) or 32x32
    large (>= 48 px), < 2,000 images: faces-dcgan (DiffAugment: few images need augmentation)
    large, 2,000 images or more:      faces  (the faces recipe measured best for the run's minutes)

at 64x64 for large images; RGB when half the images looked at are in colour, else grey. Options given on
the command line (--size, --channels, --minutes, ...) still override the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data.folder import FolderFacts

SMALL_SIDE = 48  # below: the 28/32-pixel recipes (digits, sprites, icons); at or above: 64x64
FEW_IMAGES = 2000  # below: DiffAugment (Zhao et al. 2020: few images overfit D without it)
COLOUR_SHARE = 0.5  # of the images looked at, in colour: RGB


@dataclass(frozen=True)
class Choice:
    """The preset chosen, the data shape it trains at, and why, in words."""

    preset: str
    size: int
    channels: int
    why: str

    def line(self, spec: str) -> str:
        return (
            f"recipe: {self.preset} at {self.size}x{self.size}x{self.channels} for {spec}, as {self.why} "
            "(--preset NAME chooses another)"
        )


def choose(facts: FolderFacts) -> Choice:
    """The recipe for a folder with ``facts`` (see the module docstring)."""
    channels = 3 if facts.colour >= COLOUR_SHARE else 1
    colour = "colour" if channels == 3 else "grey"
    labels = f"{facts.classes} classes" if facts.classes else "no classes"
    held = f"it holds {facts.count:,} {colour} images of median side {facts.side} px, {labels}"
    if facts.side < SMALL_SIDE:
        size = 28 if facts.side <= 28 else 32
        if facts.classes >= 2:
            return Choice("mnist-cgan", size, channels, f"{held}: small, labelled (one class asked per image)")
        return Choice("mnist-dcgan", size, channels, f"{held}: small, unlabelled")
    if facts.count < FEW_IMAGES:
        return Choice("faces-dcgan", 64, channels, f"{held}: fewer than {FEW_IMAGES:,}, so augmented (DiffAugment)")
    unused = "; its classes are not used" if facts.classes else ""
    return Choice("faces", 64, channels, f"{held}: large and many{unused}")
