"""The manual: `mkdocs build --strict` succeeds (a broken link, picture or API reference fails it), its pages
render in Chromium with every picture loaded and nothing asked of other hosts, the CLI reference holds every
command, and the README front page stays a front page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from browser import render
from drawlab.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("page", ["index.html", "lab.html", "api.html"])
def test_the_pages_render_with_their_pictures_and_ask_nothing_of_other_hosts(
    site: Path, page: str, tmp_path: Path
) -> None:
    got = render(site / page, tmp_path / "page.png")
    assert not got["blank"] and got["broken"] == [] and got["requests"] == [], got
    if page != "api.html":
        assert got["images"] >= 1
    else:
        assert "sample_tensor" in got["text"] and "export_run" in got["text"]  # the docstrings are there


@pytest.mark.slow
def test_the_cli_reference_holds_every_command(site: Path) -> None:
    text = (site / "cli.html").read_text()
    for name in COMMANDS:
        assert f"drawlab {name}" in text, name


def test_the_readme_is_a_front_page_that_links_the_manual() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150 and "make test" in readme
    for link in [p for p in readme.split("](")[1:]]:
        target = link.split(")")[0]
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
