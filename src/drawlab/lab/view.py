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
from .updates import PHASES, Pending
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
            "pending": _pending(lab, lab.pending) if lab.pending is not None and lab.pending.phase >= 0 else None,
        }
    )


def _pending(lab: Lab, p: Pending) -> dict[str, Any]:
    """What slow motion draws of a begun update: its batch, D's readings of it (pack by pack), G's arrows
    from the gradients phase on, and the sentence naming the phase."""
    arrows = p.arrows if p.phase >= PHASES.index("gradients") else None
    return {
        "which": p.which,
        "phase": p.phase,
        "phases": list(PHASES),
        "line": phase_line(lab, p),
        "fake": _round(p.fake, 3),
        "real": _round(p.real, 3) if p.real is not None and p.which == "D" else None,
        "read_fake": _round(p.read_fake, 3),
        "read_real": _round(p.read_real, 3) if p.read_real is not None and p.which == "D" else None,
        "pack": lab.s.pack,
        "arrows": _round(arrows, 4) if arrows is not None else None,
    }


def phase_line(lab: Lab, p: Pending) -> str:
    """One sentence for the phase ``p.phase`` of the update ``p``: what is computed, with its numbers."""
    s, k = lab.s, PHASES[p.phase]
    count = s.d_steps if p.which == "D" else s.g_steps
    head = f"{p.which} update {p.index + 1} of {count} · {p.phase + 1}/{len(PHASES)} {k}: "
    assert lab.readout is not None
    real_name, fake_name = lab.readout.names
    lr = s.lr_d if p.which == "D" else s.lr_g
    opt = "Adam" if s.optimizer.value == "adam" else "SGD"
    b = len(p.fake)
    if p.which == "D":
        words = {
            "generate": f"G draws {b} points from fresh noise (orange rings) and {b} real points are drawn (dark rings)",
            "judge": f"D reads them: mean {real_name} = {float(p.read_real.mean()) if p.read_real is not None else 0:.2f}"
            f", {fake_name} = {float(p.read_fake.mean()):.2f} (each ring filled with its reading)",
            "loss": f"D's {s.loss} loss on them: {p.loss:.3f}"
            + (" (plus its penalty)" if lab.objective.penalties else ""),
            "gradients": f"backpropagation gives each of D's weights its gradient (norm {p.grad_norm:.3g})",
            "update": f"{opt} moves D's weights (lr {lr:g}): D's field over the plane changes",
        }
    else:
        ahead = f" (D unrolled {s.unroll} updates ahead)" if s.unroll else ""
        words = {
            "generate": f"G draws {b} points from fresh noise (orange rings)",
            "judge": f"D reads them{ahead}: mean {fake_name} = {float(p.read_fake.mean()):.2f}",
            "loss": f"G's {s.loss} loss: {p.loss:.3f}",
            "gradients": "backpropagation through D to each point (the arrows: where the loss pushes it) and on "
            f"into G's weights (norm {p.grad_norm:.3g})",
            "update": f"{opt} moves G's weights (lr {lr:g}): G's points follow their arrows",
        }
    return head + words[k]
