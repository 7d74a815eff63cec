"""One conformance test over every monitor the registry finds (training/monitors/): it builds for a tiny run
it applies to, its hooks run through a real training run seeing only the run's view (its public face, read
only), it writes only inside the run directory, and it leaves training exactly as it would be without it.
A monitor that applies to none of the tiny runs here is skipped, saying so. A new monitor file is tested
here without editing a list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from conftest import tiny_cfg
from drawlab.run import RunDir
from drawlab.training import Trainer
from drawlab.training.monitors import MONITORS
from drawlab.training.view import RunView

RUNS: dict[str, dict[str, Any]] = {  # tiny runs, tried in this order until one the monitor applies to
    "dcgan": {"name": "dcgan"},
    "ae": {"name": "ae"},
    "msggan": {"name": "msggan"},
    "flow": {"name": "flow", "ema_images": 100.0},
    "dcgan-eval": {"name": "dcgan", "eval_every": 2, "eval_n": 300},
}
PUBLIC = {n for n in dir(RunView) if not n.startswith("_")} | {
    "cfg",
    "family",
    "data",
    "run",
    "device",
    "steps_per_epoch",
    "target_steps",
    "fixed_z",
    "fixed_y",
    "echo",
    "logger",
}


class Guarded:
    """A RunView that lets its public names be read and nothing be set but the trainer's ``logger``."""

    def __init__(self, view: RunView, touched: set[str]):
        object.__setattr__(self, "_view", view)
        object.__setattr__(self, "_touched", touched)

    def __getattr__(self, name: str) -> Any:
        if name not in PUBLIC:
            raise AttributeError(f"a monitor reached {name!r}, outside the run's view")
        self._touched.add(name)
        return getattr(self._view, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "logger":
            raise AttributeError(f"a monitor set {name!r} on the run's view")
        setattr(self._view, name, value)


def tiny(kind: str, **kw: Any):
    return tiny_cfg("mnist-5k", steps=4, checkpoint_every=2, sample_every=2, log_every=1, **RUNS[kind], **kw)


@pytest.fixture(scope="module")
def bare_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each tiny run trained without any monitor (built lazily): what a monitor must leave unchanged."""
    made: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in made:
            out = tmp_path_factory.mktemp(f"bare-{kind}") / "r"
            t = Trainer(tiny(kind), out, progress=False, echo=lambda s: None)
            t.observers.items = []
            t.train()
            made[kind] = out
        return made[kind]

    return get  # type: ignore[return-value]


def files_outside(root: Path, run: Path) -> set[Path]:
    return {p for p in root.rglob("*") if run not in p.parents and p != run}


@pytest.mark.parametrize("name", sorted(MONITORS))
def test_monitor_builds_runs_on_the_view_alone_and_leaves_training_unchanged(
    name: str, tmp_path: Path, bare_runs, monkeypatch
) -> None:
    from drawlab.metrics import features

    monkeypatch.setattr(features, "default_steps", lambda n: 30)  # a quick feature net where one is needed
    monkeypatch.chdir(tmp_path)
    cls, touched = MONITORS[name], set()
    for kind in RUNS:
        run = tmp_path / kind
        t = Trainer(tiny(kind), run, progress=False, echo=lambda s: None)
        guarded = Guarded(t.view, touched)
        monitor = cls.build(guarded)  # type: ignore[arg-type]
        if monitor is not None:
            break
        t.close()
    else:
        pytest.skip(f"monitor {name} applies to none of the tiny runs here ({', '.join(RUNS)})")
    assert isinstance(monitor, cls) and cls.order == monitor.order
    t.observers.items, t.view = [monitor], guarded  # type: ignore[assignment]
    before = files_outside(tmp_path, run)
    res = t.train()
    assert res.step == 4 and touched, "its hooks ran and read the view"
    assert files_outside(tmp_path, run) == before, "it wrote outside the run directory"
    a, b = (
        load_file(str(RunDir(run).latest_checkpoint().weights)),
        load_file(str(bare_runs(kind) / "checkpoints" / "step-0000004.safetensors")),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "it changed the training"


def test_monitors_run_in_their_declared_order_nan_guard_first_pictures_last() -> None:
    from drawlab.training.monitors import in_order

    names = [c.name for c in in_order()]
    assert names[0] == "nan-guard" and names[-1] == "pictures"
    assert len(names) == len(set(names)) >= 8
