"""drawlab: a workbench for teaching machines to draw."""

from __future__ import annotations

from .version import __version__

__all__ = ["__version__", "load"]


def load(run_dir, checkpoint=None, device: str = "cpu"):
    """Open a trained run for sampling: ``drawlab.load(RUN).sample(n, seed=0, labels=None)``."""
    from .api import load as _load

    return _load(run_dir, checkpoint=checkpoint, device=device)
