"""The 2D lab's oscillation verdict against settings that swing and settings that do not (issue 20).

    OMP_NUM_THREADS=1 python benchmarks/lab_oscillation.py [--seeds 0,1,2] [NAME ...]

Each setting is trained for its steps on each seed; printed: the last evaluation's swing of G's points
(``lab.metrics.swing``: amplitude in data spreads, cycles, clarity over the batch noise) and the verdicts.
"""

from __future__ import annotations

import argparse
import time

from drawlab.device import cpu_model
from drawlab.lab.denoise import new_lab
from drawlab.lab.presets import LESSONS
from drawlab.lab.settings import Settings, replace
from drawlab.lab.verdicts import verdicts

RING = {"dist": "ring8", "steps": 1500, "g_width": 64, "d_width": 64}
SETTINGS: dict[str, dict] = {
    "ring-healthy": LESSONS["ring-healthy"].settings,
    "ring-collapse": LESSONS["ring-collapse"].settings,
    "ring-pack": LESSONS["ring-pack"].settings,
    "d-wins": LESSONS["d-wins"].settings,
    "grid-wgan-gp": LESSONS["grid-wgan-gp"].settings,
    "moons": {**RING, "dist": "moons"},
    "ns-lr1e-3": {**RING, "lr_g": 1e-3, "lr_d": 1e-3},
    "ns-lr1e-2": {**RING, "lr_g": 1e-2, "lr_d": 1e-2},
    "hinge-lr5e-3": {**RING, "loss": "hinge", "lr_g": 5e-3, "lr_d": 5e-3},
    "wgan-gp-lr1e-3": {**RING, "loss": "wgan-gp", "lr_g": 1e-3, "lr_d": 1e-3},
    "wgan-gp-lr1e-3-d5": {**RING, "loss": "wgan-gp", "lr_g": 1e-3, "lr_d": 1e-3, "d_steps": 5},
    "wgan-gp-lr1e-4": {**RING, "loss": "wgan-gp", "lr_g": 1e-4, "lr_d": 1e-4},
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", choices=[[], *SETTINGS], default=[])
    ap.add_argument("--seeds", default="0,1,2")
    a = ap.parse_args()
    print(f"# drawlab lab oscillation verdict, {time.strftime('%Y-%m-%d %H:%M')}, cpu: {cpu_model()}")
    print("| setting | seed | amplitude (spreads) | cycles | clarity | oscillation verdict |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name in a.names or list(SETTINGS):
        for seed in (int(x) for x in a.seeds.split(",")):
            s = replace(Settings(), **{**SETTINGS[name], "seed": seed})
            lab = new_lab(s)
            lab.step(s.steps)
            w = lab.history[-1].swing or {"amplitude": 0.0, "cycles": 0.0, "clarity": 0.0}  # {}: not measurable
            said = any(v.startswith("oscillation") for v in verdicts(lab.history, lab.dist, lab.readout))
            print(
                f"| {name} | {seed} | {w['amplitude']:.2f} | {w['cycles']:.1f} | {w['clarity']:.1f} | "
                f"{'yes' if said else 'no'} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
