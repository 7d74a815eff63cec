"""tests/browser.py itself: a real headless Chromium renders small pages and the report is right.

No skips: without Debian's chromium these fail, saying to run `apt-get install chromium` (CI's .ci/run does)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from browser import chromium_path, render


def _png_data_uri(size: int = 64) -> str:
    """A red square with a blue diagonal band, as a data: URI."""
    im = Image.new("RGB", (size, size), (220, 30, 30))
    for i in range(size):
        for j in range(max(0, i - 4), min(size, i + 4)):
            im.putpixel((i, j), (20, 40, 200))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _page(tmp_path: Path, body: str, title: str = "t") -> Path:
    html = tmp_path / "page.html"
    html.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>",
        encoding="utf-8",
    )
    return html


def test_chromium_is_installed():
    try:
        chromium_path()
    except FileNotFoundError as e:
        pytest.fail(str(e))


def test_good_inline_image(tmp_path: Path):
    html = _page(tmp_path, f"<h1>Samples</h1><img src='{_png_data_uri()}' width='128'>", title="grid")
    out = render(html, tmp_path / "shot.png")
    assert out["images"] == 1
    assert out["broken"] == []
    assert out["blank"] is False
    assert out["title"] == "grid"
    assert "Samples" in out["text"]
    assert out["requests"] == []
    with Image.open(tmp_path / "shot.png") as shot:
        assert shot.width == 1200


def test_broken_data_image(tmp_path: Path):
    html = _page(tmp_path, "<p>x</p><img src='data:image/png;base64,bm90IGEgcG5n'>")  # "not a png"
    out = render(html, tmp_path / "shot.png")
    assert out["images"] == 1
    assert out["broken"] == ["data:image/png;base64,bm90IGEgcG5n"]


def test_blank_page(tmp_path: Path):
    out = render(_page(tmp_path, ""), tmp_path / "shot.png", width=400)
    assert out["blank"] is True
    assert out["images"] == 0
    assert out["text"] == ""


def test_network_request_is_reported_and_blocked(tmp_path: Path):
    html = _page(tmp_path, "<img src='http://example.com/x.png'>")
    out = render(html, tmp_path / "shot.png")
    assert "http://example.com/x.png" in out["requests"]
    assert out["broken"] == ["http://example.com/x.png"]  # aborted, never fetched
