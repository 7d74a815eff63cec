"""The 2D lab without a browser (`drawlab lab --out DIR`): train, and write what the page would show.

DIR/settings.json   the settings (with the schedule of live changes): `drawlab lab --settings` replays it
DIR/metrics.jsonl   one record per evaluation, appended as the run goes (an interrupted run keeps them)
DIR/summary.json    the final scores, the verdicts, steps per second
DIR/final.png       the final state with every layer, D's readings, the scores and losses over time
DIR/run.gif         the plane over the run
A Dirac-GAN lesson writes settings.json, summary.json and final.png (its path and field).

`drawlab lab --out DIR --compare 'unroll=5'` trains the settings and the same with those changes, on the same
data and seed: DIR/a and DIR/b as above, and DIR/compare.png, a's final state above b's.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import append_jsonl, atomic_write_bytes, atomic_write_json
from .denoise import new_lab
from .dirac import DiracSettings, field, trajectory, verdict
from .dists import Dist
from .picture import final_png, frame, gif
from .settings import Settings
from .verdicts import verdicts
from .view import finite, view


def train(s: Settings, out: Path, dist: Dist | None = None, frames: int = 40, say=print) -> dict[str, Any]:
    """Run ``s`` to its last step, writing DIR's files (module docstring); returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "settings.json", s.to_json())  # at once: an interrupted run keeps it
    log = out / "metrics.jsonl"
    if log.exists():
        log.unlink()
    lab = new_lab(s, dist)
    append_jsonl(log, finite(lab.history[-1].to_json()))
    every = max(1, s.steps // max(1, frames))
    pics = [frame(view(lab))] if frames else []
    t0, spent, done = time.perf_counter(), 0.0, len(lab.history)
    while lab.step_no < s.steps:
        n = min(every, s.steps - lab.step_no)
        t = time.perf_counter()
        lab.step(n)
        spent += time.perf_counter() - t
        for r in lab.history[done:]:
            append_jsonl(log, finite(r.to_json()))
        done = len(lab.history)
        if frames:
            pics.append(frame(view(lab)))
    if lab.history[-1].step != lab.step_no:
        lab.history.append(lab.evaluate())
        append_jsonl(log, finite(lab.history[-1].to_json()))
    atomic_write_json(out / "settings.json", lab.recipe().to_json())
    v = view(lab)
    summary: dict[str, Any] = {
        "step": lab.step_no,
        "metrics": lab.history[-1].metrics,
        "reached": len(lab.history[-1].reached),
        "verdicts": verdicts(lab.history, lab.dist, lab.readout),
        "steps_per_second": round(lab.step_no / spent, 1) if spent > 0 else None,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_json(out / "summary.json", finite(summary))
    final_png(v, out / "final.png")
    if pics:
        gif(pics, out / "run.gif")
    say(f"lab: {lab.step_no} steps, {summary['steps_per_second']} steps/s; {_scores(summary['metrics'])}")
    for line in summary["verdicts"]:
        say(f"lab: {line}")
    say(f"lab: wrote {out}/final.png, run.gif, metrics.jsonl, summary.json, settings.json")
    return summary


def compare(
    s: Settings,
    changes: dict[str, Any],
    out: Path,
    dist: Dist | None = None,
    frames: int = 40,
    say: Callable[[str], None] = print,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train ``s`` into out/a and ``s`` with ``changes`` into out/b (same seed; the drawn points ``dist`` for
    the run whose ``dist`` is "points", the named distribution otherwise), then out/compare.png: a's final.png
    above b's. Returns the two summaries; ConfigError before anything trains for changes that cannot run."""
    from PIL import Image

    from .settings import replace

    other = replace(s, **changes).check()
    if other.dist == "points" and dist is None:
        raise ConfigError("--compare dist=points needs --points FILE.png (the dark pixels are the data)")
    said = ", ".join(f"{k}={v}" for k, v in changes.items())
    drawn = {id(x): dist if x.dist == "points" else None for x in (s, other)}
    a = train(s, out / "a", drawn[id(s)], frames, say=lambda line: say(f"a: {line}"))
    b = train(other, out / "b", drawn[id(other)], frames, say=lambda line: say(f"b ({said}): {line}"))
    with Image.open(out / "a" / "final.png") as ia, Image.open(out / "b" / "final.png") as ib:
        both = Image.new("RGB", (max(ia.width, ib.width), ia.height + ib.height), "white")
        both.paste(ia.convert("RGB"), (0, 0))
        both.paste(ib.convert("RGB"), (0, ia.height))
        buf = io.BytesIO()
        both.save(buf, format="PNG")
    atomic_write_bytes(out / "compare.png", buf.getvalue(), kind="picture")
    say(f"lab: wrote {out}/compare.png (a above b: {said})")
    return a, b


def _scores(m: dict[str, float]) -> str:
    parts = []
    if "modes" in m:
        parts += [
            f"modes {m['modes']:.0f}",
            f"high quality {m['high_quality']:.1%}",
            f"reverse KL {m['reverse_kl']:.3f}",
        ]
    parts.append(f"SWD {m['swd']:.3f}")
    return ", ".join(parts)


def dirac(s: DiracSettings, out: Path, say=print) -> dict[str, Any]:
    """Run the Dirac-GAN ``s``: its path, its field and the verdict (settings.json, summary.json, final.png)."""
    from ..plotting import pyplot

    plt = pyplot()

    out.mkdir(parents=True, exist_ok=True)
    path = trajectory(s)
    words = verdict(path)
    f = field(s).numpy()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.quiver(f[..., 0], f[..., 1], f[..., 2], f[..., 3], color="#999999", angles="xy", width=0.004)
    p = path.numpy()
    ax.plot(p[:, 0], p[:, 1], color="#c0392b", lw=1)
    ax.scatter([p[0, 0]], [p[0, 1]], c="#c0392b", s=20, label="start")
    ax.scatter([0], [0], c="black", marker="*", s=80, label="equilibrium")
    ax.set_xlabel("theta (G: generates x = theta)")
    ax.set_ylabel("psi (D(x) = psi x)")
    ax.set_title(f"Dirac-GAN, {s.loss}, R1 {s.r1:g}, {s.update.value}", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.text(0.5, 0.01, words, ha="center", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(out / "final.png", buf.getvalue(), kind="picture")
    atomic_write_json(out / "settings.json", s.to_json())
    summary = {"verdicts": [words], "steps": len(path) - 1, "end": p[-1].tolist()}
    atomic_write_json(out / "summary.json", summary)
    say(f"lab: Dirac-GAN {words}")
    say(f"lab: wrote {out}/final.png, summary.json, settings.json")
    return summary


def read_summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())
