"""The 2D lab's verdicts: what went wrong (or right) in a run, in words, from its evaluation records.

Each check reads the records (oldest first) and returns a sentence or None:
- ``nan``: a loss became NaN (a denoiser, ``readout`` None, has only G's);
- ``d_won``: D separates real from generated outright at the last ``WINDOW`` evaluations (on its loss's
  scale, as the image models' watchdog reads it) and G's gradient has fallen below ``VANISHED`` of its
  peak: the arrows vanish;
- ``collapse``: G reaches fewer modes than the data has, or reaches them all but captures fewer
  (imprecise) (the mode benchmarks only);
- ``hopping``: over the last ``WINDOW`` evaluations G visited clearly more modes than it held at once
  (at least 2 and half as many more);
- ``oscillation``: G's points swing back and forth as a whole, far (``SWING`` of the data's spread) and
  again and again (``CYCLES``), clearly above the batch noise (``CLARITY``): the two players take turns
  instead of settling (``metrics.swing``, measured by the last evaluation);
- ``healthy``: every mode captured and most points high quality.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..losses import Readout
from .dists import Dist
from .game import Record

WINDOW = 5  # evaluations read by the checks that need a run of them
VANISHED = 0.05  # G's gradient below this share of its peak: the arrows have vanished
HEALTHY_HQ = 0.4  # share of high-quality points of a healthy run (within 3 std of a mode)
SWING, CYCLES, CLARITY = 1.0, 3.0, 8.0  # an oscillation: its reach in data spreads, its swings, over the noise


def nan(records: list[Record], dist: Dist, readout: Readout | None) -> str | None:
    for r in records[1:]:  # the first record is step 0, before any update
        if any(math.isnan(v) for v in ((r.loss_d, r.loss_g) if readout is not None else (r.loss_g,))):
            return f"a loss became NaN by step {r.step}: lower the learning rates (or add a penalty)"
    return None


def d_won(records: list[Record], dist: Dist, readout: Readout | None) -> str | None:
    last = records[-WINDOW:]
    if readout is None or len(last) < WINDOW or not all(readout.wins(r.d_real, r.d_fake) for r in last):
        return None
    peak = max(r.g_grad for r in records)
    now = last[-1].g_grad
    if peak <= 0 or now > VANISHED * peak:
        return None
    a, b = readout.names
    return (
        f"D won: it tells real from generated outright ({a} = {last[-1].d_real:.2f}, {b} = {last[-1].d_fake:.2f}) "
        f"and G's gradient has fallen to {now / peak:.1%} of its peak: the arrows vanish, G has stopped learning "
        "(use the non-saturating loss, slow D down, or add instance noise)"
    )


def collapse(records: list[Record], dist: Dist, readout: Readout | None) -> str | None:
    if dist.modes is None or not records:
        return None
    r, n = records[-1], len(dist.modes)
    near, k = len(r.reached), len(r.covered)
    if near < n:
        return (
            f"collapsed onto {near} of {n} modes: G never goes near the others "
            "(try unroll, pack, a slower G or another loss)"
        )
    if k < n:
        return (
            f"imprecise: G goes near all {n} modes but puts points within 3 std of only {k} "
            f"({r.metrics.get('high_quality', 0):.0%} high quality): smaller learning rates sharpen it"
        )
    return None


def hopping(records: list[Record], dist: Dist, readout: Readout | None) -> str | None:
    if dist.modes is None or len(records) < WINDOW:
        return None
    last = records[-WINDOW:]
    visited = set().union(*(set(r.covered) for r in last))
    held = max(len(r.covered) for r in last)
    if held >= len(dist.modes) or len(visited) < held + max(2, held // 2):
        return None
    return (
        f"mode hopping: G holds at most {held} modes at a time but visited {len(visited)} over the last "
        f"{last[-1].step - last[0].step} steps: it chases D from mode to mode"
    )


def oscillation(records: list[Record], dist: Dist, readout: Readout | None) -> str | None:
    if readout is None or not records or not records[-1].swing:
        return None
    w = records[-1].swing
    if w["amplitude"] < SWING or w["cycles"] < CYCLES or w["clarity"] < CLARITY:
        return None
    return (
        f"oscillation: G's points swing back and forth as a whole, {w['amplitude']:.1f}x the data's spread, "
        f"{w['cycles']:.0f} times in the last steps: G and D take turns instead of settling (smaller learning "
        "rates, a gradient penalty or R1, or EMA damp it)"
    )


def healthy(records: list[Record], dist: Dist, readout: Readout | None) -> str | None:
    if dist.modes is None or not records:
        return None
    r = records[-1]
    if len(r.covered) < len(dist.modes) or r.metrics.get("high_quality", 0) < HEALTHY_HQ:
        return None
    return (
        f"healthy: all {len(dist.modes)} modes captured, {r.metrics['high_quality']:.0%} of points high "
        f"quality (reverse KL {r.metrics['reverse_kl']:.2f})"
    )


CHECKS: tuple[Callable[[list[Record], Dist, Readout | None], str | None], ...] = (
    nan,
    d_won,
    collapse,
    hopping,
    oscillation,
    healthy,
)


def verdicts(records: list[Record], dist: Dist, readout: Readout | None) -> list[str]:
    """Every check's sentence that applies, in ``CHECKS`` order."""
    out = [c(records, dist, readout) for c in CHECKS]
    return [v for v in out if v]
