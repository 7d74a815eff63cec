"""The 2D lab's lessons: named settings that each show one thing, with what they must show (the test
suite runs every preset and checks ``expect`` on its final record and verdicts).

A lesson is either a 2D GAN run (``settings``: changes to ``Settings``) or a Dirac-GAN run (``dirac``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .dirac import DiracSettings

Outcome = dict[str, Any]  # {"metrics": {...}, "reached": int, "verdicts": [...]} of a finished run
SLOW = {"lr_g": 1e-4, "lr_d": 1e-4}
SMALL = {"g_width": 64, "d_width": 64}  # fast enough for a lesson in seconds


@dataclass(frozen=True)
class Lesson:
    """A preset: its name, the one line it teaches, its settings and the check of what it must show."""

    name: str
    teaches: str
    settings: dict[str, Any] = field(default_factory=dict)
    dirac: DiracSettings | None = None
    expect: Callable[[Outcome], bool] = lambda o: True
    expect_words: str = ""


def _said(word: str) -> Callable[[Outcome], bool]:
    return lambda o: any(v.startswith(word) for v in o["verdicts"])


LESSONS: dict[str, Lesson] = {
    les.name: les
    for les in (
        Lesson(
            "ring-healthy",
            "a plain non-saturating GAN with small steps learns all 8 modes of the ring",
            {"dist": "ring8", "steps": 4000, **SMALL, **SLOW},
            expect=lambda o: o["metrics"]["modes"] == 8,
            expect_words="8 of 8 modes captured",
        ),
        Lesson(
            "ring-collapse",
            "G learning 10x faster than D: it collapses onto one mode at a time and swings across the ring, "
            "chased by D (the verdicts: collapse and oscillation)",
            {"dist": "ring8", "steps": 1500, **SMALL, "lr_g": 1e-3, "lr_d": 1e-4},
            expect=lambda o: o["reached"] <= 2 and _said("oscillation")(o),
            expect_words="at most 2 of 8 modes reached, and the verdict oscillation",
        ),
        Lesson(
            "ring-pack",
            "the same G against a D that judges 4 points at once (PacGAN): it reaches every mode",
            {"dist": "ring8", "steps": 1500, **SMALL, "lr_g": 1e-3, "lr_d": 1e-4, "pack": 4},
            expect=lambda o: o["reached"] == 8,
            expect_words="8 of 8 modes reached",
        ),
        Lesson(
            "d-wins",
            "the original minimax loss against a fast D and a slow G: D wins, G's gradient vanishes (the arrows "
            "shrink to nothing); with --loss nonsaturating, the same settings keep G's gradient",
            {"dist": "ring8", "steps": 1000, **SMALL, "loss": "minimax", "lr_d": 5e-3, "d_steps": 5, "lr_g": 1e-5},
            expect=_said("D won"),
            expect_words='the verdict "D won"',
        ),
        Lesson(
            "grid-wgan-gp",
            "WGAN-GP (5 critic steps) on the 25-mode grid",
            # lr 2e-4: every mode reached on 3 of 3 seeds on an Intel Xeon (Sapphire Rapids), where 1e-4 (the
            # rate measured 3/3 on AMD Zen 4 and 5) reached 25, 17 and 16: a GAN's path turns on the last bit
            {"dist": "grid25", "steps": 2000, "loss": "wgan-gp", "d_steps": 5, **SMALL, "lr_g": 2e-4, "lr_d": 2e-4},
            expect=lambda o: o["reached"] >= 20,
            expect_words="at least 20 of 25 modes reached",
        ),
        Lesson(
            "ring-flow",
            "flow matching with ring-collapse's learning rate and steps: no D to chase, every mode reached "
            "(sharpening them takes longer)",
            {"dist": "ring8", "steps": 1500, "model": "flow", **SMALL},
            expect=lambda o: o["reached"] == 8,
            expect_words="8 of 8 modes reached",
        ),
        Lesson(
            "grid-ddpm",
            "diffusion (v prediction, 20 DDIM steps) on the 25-mode grid, in WGAN-GP's number of steps",
            {"dist": "grid25", "steps": 2000, "model": "ddpm", **SMALL},
            expect=lambda o: o["reached"] >= 24,
            expect_words="at least 24 of 25 modes reached",
        ),
        Lesson(
            "dirac",
            "the Dirac-GAN without a regulariser: gradient descent circles the equilibrium and never reaches it",
            dirac=DiracSettings(steps=500),
            expect=lambda o: not o["verdicts"][0].startswith("converges"),
            expect_words="no convergence",
        ),
        Lesson(
            "dirac-r1",
            "the Dirac-GAN with R1 (gamma = 0.3): the same spiral, damped into the equilibrium",
            dirac=DiracSettings(steps=500, r1=0.3),
            expect=_said("converges"),
            expect_words="convergence",
        ),
    )
}


def get_lesson(name: str) -> Lesson:
    """The preset called ``name``; ConfigError naming the known ones."""
    if name not in LESSONS:
        raise ConfigError(
            f"--preset {name!r} is not a lab preset: use one of {', '.join(LESSONS)} (see --list-presets)"
        )
    return LESSONS[name]
