"""The explorer: its answers in-process and over HTTP, its refusals, and the page in a real browser
(Debian's chromium through playwright: open it, move a slider, see the picture change)."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import drawlab
from browser import ARGS, TIMEOUT_MS, chromium_path, is_blank
from drawlab.cli import main
from drawlab.errors import ConfigError
from drawlab.serve import Explorer, make_server
from drawlab.serve.http import BUSY, TOKEN_HEADER

TOKEN = "a-token-for-tests"


@pytest.fixture(scope="module")
def server(cgan_run: Path):
    """The explorer of the tiny cGAN on a free port, in a thread: yields its base URL."""
    ex = Explorer([str(cgan_run), str(cgan_run)], k=3)
    srv, _ = make_server(ex, "127.0.0.1", 0, token=TOKEN)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _get(url: str, token: str | None = TOKEN) -> tuple[int, bytes, dict]:
    """GET with the token in its header (``token=None``: without)."""
    req = urllib.request.Request(url, headers={TOKEN_HEADER: token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def _decode(url: str) -> np.ndarray:
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
        return np.asarray(im)


def test_view_is_sample_seeds_and_changes_with_the_controls(server: str, cgan_run: Path) -> None:
    code, body, headers = _get(server + "/api/view?seed=5")
    assert code == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    v = json.loads(body)
    expected = drawlab.load(cgan_run).sample(seeds=[5])[0]
    assert np.array_equal(_decode(v["image"]), expected)
    assert v["label"] == 5 and 0 <= v["d"] <= 1 and _decode(v["saliency"]).shape == (28, 28, 3)
    base = _decode(v["image"])
    for q in (
        "seed=5&dirs=2.5,0,0",
        "seed=5&dim=0&dimval=3",
        "seed=5&seed2=9&t=0.7",
        "seed=5&label=1",
        "seed=5&snapshot=0",
    ):
        code, body, _ = _get(f"{server}/api/view?{q}")
        assert code == 200 and not np.array_equal(_decode(json.loads(body)["image"]), base), q
    same = json.loads(_get(server + "/api/view?seed=5&seed2=9&t=0&dirs=0,0,0")[1])
    assert np.array_equal(_decode(same["image"]), base)  # t = 0 and zero offsets: exactly seed 5


def test_info_downloads_and_bad_requests(server: str) -> None:
    info = json.loads(_get(server + "/api/info")[1])
    assert len(info["runs"]) == 2 and info["runs"][0]["conditional"] and len(info["runs"][0]["classes"]) == 10
    assert info["runs"][0]["snapshots"] == [0, 4] and len(info["runs"][0]["directions"]) == 3
    code, body, headers = _get(server + "/api/png?seed=5")
    assert code == 200 and body[:4] == b"\x89PNG" and "attachment" in headers["Content-Disposition"]
    code, body, _ = _get(server + "/api/gif?seed=5&seed2=6")
    assert code == 200 and body[:3] == b"GIF"
    for q in (
        "seed=x",
        "seed=-1",
        "label=10",
        "t=2&seed2=1",
        "interp=cubic&seed2=1",
        "dirs=1,2,3,4",
        "dirs=a",
        "dim=8",
        "snapshot=3",
        "run=2",
    ):
        code, body, _ = _get(f"{server}/api/view?{q}")
        assert code == 400 and len(json.loads(body)["error"].splitlines()) == 1, q
    assert _get(server + "/nothing")[0] == 404


def test_every_request_needs_the_token(server: str, capsys, cgan_run: Path, monkeypatch) -> None:
    """Without the token (or with another) every endpoint is a 403 with one line; links carry it in the query;
    `drawlab serve` prints it in its URL."""
    for path in ("/", "/api/info", "/api/view?seed=5", "/api/png?seed=5", "/nothing"):
        for token in (None, "not-it"):
            code, body, _ = _get(server + path, token)
            assert code == 403 and json.loads(body) == {
                "error": "this explorer needs its token: open the URL it printed (with ?token=...)"
            }
    assert _get(f"{server}/api/png?seed=5&token={TOKEN}", None)[0] == 200
    from drawlab.serve import http

    monkeypatch.setattr(http.BoundedServer, "serve_forever", lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["serve", str(cgan_run), "--port", "0", "--directions", "0"]) == 0
    assert re.search(r"explorer: http://127\.0\.0\.1:\d+/\?token=[\w-]{20,} ", capsys.readouterr().err)


def test_port_in_use_is_one_line(server: str, cgan_run: Path, capsys) -> None:
    port = server.rsplit(":", 1)[1]
    with pytest.raises(ConfigError, match="is in use"):
        make_server(Explorer([str(cgan_run)], k=0), "127.0.0.1", int(port))
    assert main(["serve", str(cgan_run), "--port", port, "--directions", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"port {port} is in use" in err


def test_page_in_a_real_browser_slider_changes_the_image(server: str, tmp_path: Path) -> None:
    """Open the page in Chromium (its first question answered 503: it says so and asks again), move the first
    principal-direction slider: the picture changes, and the page never asks anything of any other host."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=ARGS, timeout=TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda r: None if r.url.startswith((server, "data:")) else outside.append(r.url))
            busy: list[str] = []

            def first_info_busy(route) -> None:  # as the bounded server answers when the class is too many
                if busy:
                    return route.continue_()
                busy.append(route.request.url)
                route.fulfill(status=503, content_type="application/json", body=BUSY.decode())

            page.route("**/api/info*", first_info_busy)
            page.goto(f"{server}/?token={TOKEN}", wait_until="load")
            page.wait_for_function("() => document.getElementById('error').textContent.includes('retrying')")
            page.wait_for_function("() => document.getElementById('image').dataset.shown === '1'")
            assert len(busy) == 1  # the page asked again after the 503 and drew
            before = page.get_attribute("#image", "src")
            page.eval_on_selector("#dir0", "el => { el.value = 2.5; el.dispatchEvent(new Event('input')); }")
            page.wait_for_function("() => document.getElementById('image').dataset.shown === '2'")
            after = page.get_attribute("#image", "src")
            assert page.text_content("#dir0-v") == "2.5"
            assert page.is_visible("#run") and page.is_visible("#label")  # two runs, conditional
            assert "D says real" in page.text_content("#dtext")
            assert page.text_content("#error") == ""
            page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        finally:
            browser.close()
    assert before.startswith("data:image/png") and after != before
    assert not is_blank(tmp_path / "explorer.png")
    assert outside == []


@pytest.mark.parametrize(
    "config, words", [("{", "is damaged"), ('{"train": {"model": {"name": "stylegan9"}}, "facts": {}}', "")]
)
def test_serve_refuses_a_run_it_cannot_read(tmp_path: Path, capsys, config: str, words: str) -> None:
    (tmp_path / "config.json").write_text(config)
    assert main(["serve", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("drawlab: error:") and words in err


def test_serve_listens_on_this_machine_only_unless_told(cgan_run: Path, monkeypatch, capsys) -> None:
    """`drawlab serve RUN` with no --host binds 127.0.0.1 (never every interface), on the port asked for."""
    from drawlab.cli import main
    from drawlab.serve import http

    bound: list[tuple[str, int]] = []

    def serve_forever(self) -> None:
        bound.append(self.server_address[:2])
        raise KeyboardInterrupt  # as Ctrl-C does: serve returns and closes the socket

    monkeypatch.setattr(http.BoundedServer, "serve_forever", serve_forever)
    assert main(["serve", str(cgan_run), "--port", "0", "--directions", "0"]) == 0
    assert bound and bound[0][0] == "127.0.0.1" and bound[0][1] > 0
    assert "http://127.0.0.1:" in capsys.readouterr().err


def test_serve_says_what_it_computes_before_its_url(cgan_run: Path, monkeypatch, capsys) -> None:
    """The principal directions take a while on a big first layer: `drawlab serve` says so before it prints
    its URL, and says nothing of them with --directions 0."""
    from drawlab.cli import main
    from drawlab.serve import http

    monkeypatch.setattr(http.BoundedServer, "serve_forever", lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["serve", str(cgan_run), "--port", "0", "--directions", "2"]) == 0
    lines = capsys.readouterr().err.splitlines()
    said = [i for i, line in enumerate(lines) if "principal directions in z" in line]
    url = [i for i, line in enumerate(lines) if line.startswith("explorer: http://")]
    assert said and url and said[0] < url[0] and "--directions 0 skips" in lines[said[0]]
    assert main(["serve", str(cgan_run), "--port", "0", "--directions", "0"]) == 0
    assert "principal directions" not in capsys.readouterr().err
