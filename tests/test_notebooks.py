"""The course: every notebook in notebooks/ runs top to bottom on a short budget and draws its pictures, and the
committed notebooks are what notebooks/make_notebooks.py writes (their cells are edited there, nowhere else)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "notebooks"))


def test_there_is_a_course_and_it_is_what_its_maker_writes() -> None:
    from make_notebooks import NOTEBOOKS as CELLS
    from make_notebooks import build

    assert [p.stem for p in NOTEBOOKS] == sorted(CELLS)
    for path in NOTEBOOKS:
        committed = nbformat.read(path, as_version=4)
        made = build(path.stem, CELLS[path.stem])
        assert [c.source for c in committed.cells] == [c.source for c in made.cells], path.name
        pictures = sum("image/png" in o.get("data", {}) for c in committed.cells for o in c.get("outputs", []))
        assert pictures >= 3, f"{path.name}: commit it with the outputs of a full run (make_notebooks.py --run)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_runs_on_a_short_budget_and_draws(path: Path, tmp_path: Path, monkeypatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("DRAWLAB_COURSE_MINUTES", "0.05")
    monkeypatch.setenv("DRAWLAB_COURSE_STEPS", "60")
    monkeypatch.setenv("DRAWLAB_COURSE_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("DRAWLAB_DATA", str(tmp_path / "data"))  # feature nets and caches: never the user's
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":  # run afresh: the committed outputs are the full run's
            c.outputs, c.execution_count = [], None
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    pictures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert pictures >= 3, path.name
