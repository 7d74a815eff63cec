"""Train-then-evaluate queue for the benchmarks that compare many runs (ladder.py, tricks_ablation.py).

Each job trains one run, then `drawlab evaluate`s it; ``parallel`` processes at a time, one thread each
(OMP_NUM_THREADS=1), so two runs share a 2-core machine without fighting over it. Restartable: a run
with an eval.json is skipped, one with a config.json is resumed with the same budget (budgets are totals
across resumes, so a finished run resumes to nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DRAWLAB = str(Path(sys.executable).with_name("drawlab"))


@dataclass
class Job:
    run: Path
    options: list[str]  # `drawlab train` options, without --out
    budget: list[str]  # e.g. ["--minutes", "3"] or ["--steps", "888"]


def _stamp(text: str) -> None:
    print(time.strftime("[%H:%M:%S] ") + text, flush=True)


def run_queue(logs: Path, jobs: list[Job], parallel: int = 2, eval_args: tuple[str, ...] = ()) -> None:
    """Train and then evaluate every job, ``parallel`` at a time; skips what is done, resumes what was cut."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    logs.mkdir(parents=True, exist_ok=True)
    queue: list[tuple[str, Path, list[str]]] = []
    for j in jobs:
        if (j.run / "eval.json").is_file():
            continue
        if (j.run / "config.json").is_file():
            queue.append(("train", j.run, [DRAWLAB, "train", "--resume", str(j.run), *j.budget, "--no-progress"]))
        else:
            queue.append(
                ("train", j.run, [DRAWLAB, "train", *j.options, *j.budget, "--no-progress", "--out", str(j.run)])
            )
    running: list[tuple[subprocess.Popen, str, Path]] = []
    while queue or running:
        for p, kind, run in list(running):
            if p.poll() is not None:
                running.remove((p, kind, run))
                _stamp(f"{kind} {run.name}: exit {p.returncode}")
                if kind == "train" and p.returncode == 0:
                    queue.insert(0, ("eval", run, [DRAWLAB, "evaluate", str(run), *eval_args]))
        while queue and len(running) < parallel:
            kind, run, cmd = queue.pop(0)
            log = open(logs / f"{kind}-{run.name}.txt", "w")
            running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), kind, run))
            _stamp(f"{kind} {run.name}: started")
        time.sleep(2)
