"""Exploring a trained generator: walks through its latent space, its principal directions, and what
its discriminator looks at. Everything draws through ``Drawer.draw``, so a seed is the same picture
in every tool."""

from .directions import Directions, principal_directions_of
from .frames import Frames, classes, interpolation, save_frames, sweeps, through_training, walk
from .inspect import maximise, saliency_panel

__all__ = [
    "Directions",
    "Frames",
    "classes",
    "interpolation",
    "maximise",
    "principal_directions_of",
    "saliency_panel",
    "save_frames",
    "sweeps",
    "through_training",
    "walk",
]
