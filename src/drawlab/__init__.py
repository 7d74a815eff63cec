"""drawlab: a workbench for teaching machines to draw."""

from __future__ import annotations

from .version import __version__

__all__ = ["__version__", "load"]


def load(run_dir, checkpoint=None, device: str = "cpu", **sampling):
    """Open a trained run for sampling: ``drawlab.load(RUN).sample(n, seed=0, labels=None)``; the denoisers
    (flow, ddpm) sample with the run's steps, guidance, sampler and grid shift unless given as keywords
    (``sample_steps``, ``guidance``, ``guidance_low``, ``guidance_high``, ``sampler``, ``sample_shift``: see
    ``api.load``)."""
    from .api import load as _load

    return _load(run_dir, checkpoint, device, **sampling)
