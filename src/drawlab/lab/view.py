"""What a 2D run looks like at one moment, as plain data: the page draws it, the pictures draw it.

``view(lab)`` -> a JSON-ready dict: the step, real and generated points (the fixed display sets), G's
gradient on each generated point (where G is pushed), D's reading over the plane on its loss's scale, G's
image of a noise grid (the warped cells), D's readings on real and generated points (for histograms),
the latest scores, the records so far, the loss curve and the verdicts.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..losses import Scale
from .denoise import MOMENTS, Denoiser
from .game import VIEW_POINTS, Lab
from .verdicts import verdicts


def _round(t: torch.Tensor, digits: int = 4) -> list:
    return torch.round(t.detach().double(), decimals=digits).tolist()


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def view(lab: Lab, res: int = 48, curve_points: int = 400) -> dict[str, Any]:
    """The run ``lab`` now (see the module docstring); ``res``: the side of D's field grid."""
    n = (VIEW_POINTS // lab.s.pack) * lab.s.pack
    real = lab.eval_real[:n]
    fake = lab.samples(lab.eval_z[:n])
    r, f, grad = lab.readings(real, fake)
    readout = lab.readout
    curve = lab.curve[:: max(1, len(lab.curve) // curve_points)]
    last = lab.history[-1] if lab.history else None
    if isinstance(lab, Denoiser):
        ro = {"names": ["-", "-"], "lo": 0.0, "hi": 1.0, "axis": "the field's speed halfway from noise to data"}
        seen = {
            "field_scale": "speed",
            "curve_names": ["-", f"{lab.s.model.value} loss"],
            "moments": list(MOMENTS),
            "vectors": [{"points": _round(p, 3), "field": _round(v, 4)} for p, v in lab.vectors()],
            "paths": _round(lab.paths(), 3),
        }
    else:
        assert readout is not None
        ro = {"names": list(readout.names), "lo": readout.lo, "hi": readout.hi, "axis": readout.axis}
        seen = {
            "field_scale": "probability" if readout.scale is Scale.PROBABILITY else "score",
            "curve_names": ["D's loss", "G's loss"],
        }
    return finite(
        {
            **seen,
            "family": lab.s.model.value,
            "step": lab.step_no,
            "sub": lab.sub_no,
            "steps": lab.s.steps,
            "extent": lab.dist.extent,
            "real": _round(real, 3),
            "fake": _round(fake, 3),
            "arrows": _round(grad, 4),
            "field": _round(lab.field(res), 3),
            "readout": ro,
            "manifold": _round(lab.manifold(), 3),
            "d_real": _round(r, 3),
            "d_fake": _round(f, 3),
            "metrics": last.metrics if last else {},
            "records": [h.to_json() for h in lab.history],
            "curve": [list(c) for c in curve],
            "modes": _round(lab.dist.modes, 3) if lab.dist.modes is not None else None,
            "verdicts": verdicts(lab.history, lab.dist, readout),
            "settings": lab.s.to_json(),
        }
    )
