"""The 2D lab's live page: the token, one controller among many viewers, commands over HTTP (live changes,
rewind, fork, a drawn distribution), bounded threads under dozens of clients, and the page in a real
browser (Debian's chromium): training visibly progresses, pause stops it, nothing leaves the machine."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

import pytest
import torch

from browser import ARGS, TIMEOUT_MS, chromium_path, is_blank
from drawlab.lab import server as lab_server
from drawlab.lab.server import LabState, make_server
from drawlab.lab.settings import Settings, replace
from drawlab.lab.updates import PHASES
from drawlab.serve import http

SMALL = dict(batch=64, g_width=32, d_width=32, g_depth=2, d_depth=2, eval_every=20, steps=100000)


def _state(**changes) -> LabState:
    return LabState(replace(Settings(), **{**SMALL, **changes}))


@pytest.fixture
def lab():
    """A lab whose training thread is NOT started (commands step it): yields (state, base URL, token)."""
    state = _state()
    srv, tok = make_server(state, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{srv.server_address[1]}", tok
    srv.shutdown()
    srv.server_close()


def _req(url: str, token: str | None, body: dict | None = None) -> tuple[int, bytes]:
    headers = {"X-Drawlab-Token": token} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _frame(base: str, tok: str, run: int = 0) -> dict:
    code, body = _req(f"{base}/api/frame?run={run}", tok)
    assert code == 200, body
    return json.loads(body, parse_constant=lambda c: pytest.fail(f"{c} in the frame's JSON"))


def _cmd(base: str, tok: str, client: str, **cmd) -> tuple[int, dict]:
    code, body = _req(f"{base}/api/control", tok, {"client": client, **cmd})
    return code, json.loads(body)


def test_every_request_needs_the_token(lab) -> None:
    _, base, tok = lab
    for path in ("/", "/api/info", "/api/frame", "/api/export"):
        code, body = _req(base + path, None)
        assert code == 403 and b"token" in body and len(body.splitlines()) == 1
        assert _req(base + path, "wrong")[0] == 403
        assert _req(base + path, tok)[0] == 200
    assert _req(f"{base}/?token={tok}", None)[0] == 200  # the printed URL carries it
    assert _req(f"{base}/api/control", None, {"client": "a", "action": "play"})[0] == 403


def test_one_viewer_controls_the_others_watch(lab) -> None:
    state, base, tok = lab
    assert _cmd(base, tok, "alice", action="step", what="both")[0] == 200
    code, said = _cmd(base, tok, "bob", action="pause")
    assert code == 409 and "another viewer controls" in said["error"]
    assert _frame(base, tok)["step"] == 1  # bob may still watch
    assert _cmd(base, tok, "alice", action="release")[0] == 200
    assert _cmd(base, tok, "bob", action="step", what="both")[0] == 200
    state.last_command -= lab_server.CONTROL_IDLE + 1  # bob went quiet: control passes on
    assert _cmd(base, tok, "carol", action="claim")[1]["controller"] is True


def test_commands_change_the_run_and_bad_ones_are_one_line(lab) -> None:
    state, base, tok = lab
    for _ in range(3):
        _cmd(base, tok, "a", action="step", what="both")
    assert _cmd(base, tok, "a", action="set", changes={"lr_d": 0.005})[0] == 200
    f = _frame(base, tok)
    assert f["settings"]["lr_d"] == 0.005 and state.runs[0].opt_d.param_groups[0]["lr"] == 0.005
    _cmd(base, tok, "a", action="step", what="D")
    assert "D update" in _frame(base, tok)["phase"]
    for _ in range(40):
        _cmd(base, tok, "a", action="step", what="both")
    assert _frame(base, tok)["step"] == 43 and 40 in _frame(base, tok)["kept"]  # the D update's step finished first
    assert _cmd(base, tok, "a", action="rewind", step=25)[0] == 200
    assert _frame(base, tok)["step"] == 20
    assert _cmd(base, tok, "a", action="fork", changes={"unroll": 2})[0] == 200
    assert _frame(base, tok)["runs"] == 2 and _frame(base, tok, 1)["settings"]["unroll"] == 2
    _cmd(base, tok, "a", action="close")
    assert _frame(base, tok)["runs"] == 1
    exported = json.loads(_req(f"{base}/api/export", tok)[1])
    assert exported["lr_d"] == 1e-3 and exported["schedule"] == [{"step": 3, "lr_d": 0.005}]
    for bad, words in (
        ({"action": "fly"}, "unknown action"),
        ({"action": "set", "changes": {"batch": 8}}, "cannot change during a run"),
        ({"action": "set", "changes": {"lr_d": -1}}, "--lr-d must be in"),
        ({"action": "rewind", "step": -3}, "step must be"),
        ({"action": "draw", "points": [[0, 0]]}, "draw needs"),
        ({"action": "step", "what": "X"}, "use D, G or both"),
    ):
        code, said = _cmd(base, tok, "a", **bad)
        assert code == 400 and words in said["error"], (bad, said)
    assert _req(f"{base}/api/frame?run=7", tok)[0] == 400


def test_compare_restarts_two_runs_side_by_side_on_the_same_data_and_seed(lab) -> None:
    state, base, tok = lab
    for _ in range(5):
        _cmd(base, tok, "a", action="step", what="both")
    assert _cmd(base, tok, "a", action="compare", changes={"loss": "wgan-gp", "d_steps": 2})[0] == 200
    a, b = _frame(base, tok, 0), _frame(base, tok, 1)
    assert a["runs"] == 2 and a["step"] == b["step"] == 0  # both start afresh, together
    assert (a["settings"]["loss"], b["settings"]["loss"], b["settings"]["d_steps"]) == ("nonsaturating", "wgan-gp", 2)
    assert a["settings"]["seed"] == b["settings"]["seed"] and a["real"] == b["real"]  # the same data, same seed
    assert a["field_scale"] == "probability" and b["field_scale"] == "score"  # each drawn on its own scale
    for _ in range(3):
        _cmd(base, tok, "a", action="step", what="both")
    assert _frame(base, tok, 0)["step"] == _frame(base, tok, 1)["step"] == 3  # a step steps both
    code, said = _cmd(base, tok, "a", action="compare", changes={"batch": 0})
    assert code == 400 and "--batch" in said["error"] and _frame(base, tok)["runs"] == 2  # refused, nothing changed
    pts = [[x / 10, (x / 10) ** 2] for x in range(-10, 11)]  # a drawn distribution, then back to the ring
    assert _cmd(base, tok, "a", action="draw", points=pts)[0] == 200
    assert _cmd(base, tok, "a", action="reset", changes={"dist": "ring8"})[0] == 200
    assert _cmd(base, tok, "a", action="compare", changes={"pack": 2})[0] == 200
    for run in (0, 1):  # both on the ring, not on the points drawn before
        f = _frame(base, tok, run)
        assert f["settings"]["dist"] == "ring8" and f["modes"] is not None and "modes" in f["metrics"], run


def test_the_dirac_gan_is_served_with_its_path_field_and_verdict(lab) -> None:
    _, base, tok = lab
    info = json.loads(_req(f"{base}/api/info", tok)[1])
    assert set(info["dirac"]) == {"dirac", "dirac-r1"} and info["dirac"]["dirac-r1"]["r1"] == 0.3
    code, body = _req(f"{base}/api/dirac", tok)
    plain = json.loads(body)
    assert code == 200 and len(plain["path"]) == 501 and len(plain["field"]) == 15 and len(plain["field"][0][0]) == 4
    assert not plain["verdict"].startswith("converges") and plain["path"][0] == [1.0, 1.0]
    damped = json.loads(_req(f"{base}/api/dirac?r1=0.3", tok)[1])
    assert damped["verdict"].startswith("converges") and damped["settings"]["r1"] == 0.3
    assert max(abs(v) for v in damped["path"][-1]) < 0.01  # R1 brings it to the equilibrium
    for bad, words in (("r1=-1", "--r1"), ("r1=x", "r1 must be a number"), ("update=both", "update must be one of"),
                       ("steps=100000", "at most 2000"), ("theta=nan", "theta"), ("psi=1e200", "psi")):  # fmt: skip
        code, body = _req(f"{base}/api/dirac?{bad}", tok)
        assert code == 400 and words in json.loads(body)["error"] and len(body.splitlines()) == 1, (bad, body)
    assert _req(f"{base}/api/dirac", None)[0] == 403


def test_slow_motion_walks_each_update_through_its_named_phases(lab) -> None:
    """Five frames per update: generate, judge, loss, gradients, update; the batch is drawn from the first,
    D's readings from "judge", G's arrows from "gradients"; the weights move only at "update"."""
    state, base, tok = lab
    run = state.runs[0]
    seen = []
    for _ in range(2 * 5):  # one D update (d_steps 1), then one G update
        before = [p.detach().clone() for p in (*run.g.parameters(), *run.d.parameters())]
        state._slow_phase()
        state.version += 1
        f = _frame(base, tok)
        moved = any(not torch.equal(a, b.detach()) for a, b in zip(before, (*run.g.parameters(), *run.d.parameters())))
        head, rest = f["phase"].split(" · ", 1)
        seen.append((head, rest.split(" ")[1].rstrip(":"), moved, f["pending"]))
    assert [s[:2] for s in seen] == [("D update 1 of 1", k) for k in PHASES] + [("G update 1 of 1", k) for k in PHASES]
    assert [s[2] for s in seen] == [False, False, False, False, True] * 2  # only "update" moves a network
    d_gen, d_judge, g_judge, g_grads = seen[0][3], seen[1][3], seen[6][3], seen[8][3]
    assert len(d_gen["fake"]) == len(d_gen["real"]) == SMALL["batch"] and d_gen["arrows"] is None
    assert len(d_judge["read_real"]) == len(d_judge["read_fake"]) == SMALL["batch"]
    assert "mean D(x) = " in seen[1][3]["line"] and g_judge["real"] is None and g_judge["arrows"] is None
    assert len(g_grads["arrows"]) == SMALL["batch"] and seen[4][3] is None  # applied: nothing pending
    assert run.step_no == 1 and "G's nonsaturating loss: " in seen[7][3]["line"]


def test_a_drawn_distribution_trains(lab) -> None:
    _, base, tok = lab
    pts = [[x / 10, (x / 10) ** 2] for x in range(-10, 11)]
    assert _cmd(base, tok, "a", action="draw", points=pts)[0] == 200
    for _ in range(25):
        _cmd(base, tok, "a", action="step", what="both")
    f = _frame(base, tok)
    assert f["settings"]["dist"] == "points" and f["step"] == 25 and f["modes"] is None
    assert "swd" in f["metrics"] and "modes" not in f["metrics"]


def test_a_flow_serves_its_field_and_refuses_a_d_step(lab) -> None:
    _, base, tok = lab
    assert _cmd(base, tok, "a", action="reset", changes={"model": "flow", "sample_steps": 4})[0] == 200
    assert _cmd(base, tok, "a", action="step", what="both")[0] == 200
    f = _frame(base, tok)
    assert f["family"] == "flow" and f["step"] == 1 and len(f["vectors"]) == 5 and len(f["paths"][0]) == 5
    code, said = _cmd(base, tok, "a", action="step", what="D")
    assert code == 400 and "no D and no G to step alone" in said["error"]
    assert _cmd(base, tok, "a", action="set", changes={"sample_steps": 2})[0] == 200
    assert len(_frame(base, tok)["paths"][0]) == 3


def _serving(state: LabState):
    srv, tok = make_server(state, "127.0.0.1", 0)
    srv.loop = threading.Thread(target=srv.serve_forever, daemon=True)  # type: ignore[attr-defined]
    srv.loop.start()  # type: ignore[attr-defined]
    return srv, tok, f"http://127.0.0.1:{srv.server_address[1]}"


def test_threads_stay_bounded_with_dozens_of_clients(monkeypatch) -> None:
    """Every worker busy and the waiting queue full, the next request is a 503 at once; 60 viewers polling
    at the same time all get frames (they wait their turn), and the server's threads do not grow with them."""
    monkeypatch.setattr(http, "MAX_CLIENTS", 4)
    monkeypatch.setattr(http, "MAX_WAITING", 1)
    srv, tok, base = _serving(_state())
    try:
        idle = [socket.create_connection(srv.server_address[:2]) for _ in range(5)]  # 4 workers + 1 waiting
        time.sleep(0.3)
        t = time.monotonic()
        code, body = _req(f"{base}/api/info", tok)
        assert code == 503 and json.loads(body) == {"error": "too many viewers at once: retry shortly"}
        assert time.monotonic() - t < 2  # at once, not after the idle ones time out
        for c in idle:
            c.close()
        time.sleep(0.3)
        assert _req(f"{base}/api/info", tok)[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()
    for w in [*srv.workers, srv.loop]:
        w.join(5)  # each worker stops at its sentinel, the accept loop at shutdown
    assert not any(w.is_alive() for w in [*srv.workers, srv.loop])
    monkeypatch.setattr(http, "MAX_WAITING", 64)
    before = threading.active_count()
    srv, tok, base = _serving(_state())
    try:
        assert threading.active_count() == before + 4 + 1  # the 4 workers and the accept loop, started once
        codes: list[int] = []
        peak = [0]

        def viewer() -> None:
            for _ in range(5):
                codes.append(_req(f"{base}/api/frame", tok)[0])
                peak[0] = max(peak[0], threading.active_count())

        viewers = [threading.Thread(target=viewer) for _ in range(60)]
        for v in viewers:
            v.start()
        for v in viewers:
            v.join()
        assert codes == [200] * 300
        assert peak[0] <= before + 5 + 60  # the server's 5 threads and the 60 viewers' own: none per request
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_page_trains_live_pauses_and_asks_nothing_of_other_hosts(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    state = _state()
    srv, tok = make_server(state, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    outside: list[str] = []
    js_errors: list[str] = []
    lr_d = None
    step = "() => Number((document.getElementById('meta').textContent.match(/step (\\d+)/) || [0, -1])[1])"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=ARGS, timeout=TIMEOUT_MS)
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                page.set_default_timeout(TIMEOUT_MS)
                page.on("request", lambda r: None if r.url.startswith((base, "data:")) else outside.append(r.url))
                page.on("pageerror", lambda e: js_errors.append(str(e)))
                page.goto(f"{base}/?token={tok}", wait_until="load")
                page.wait_for_selector("#plane0")
                page.click("#play")
                page.wait_for_function(f"() => ({step})() > 30")
                page.screenshot(path=str(tmp_path / "a.png"))
                first = page.evaluate(step)
                page.wait_for_function(f"() => ({step})() > {first + 30}")
                page.screenshot(path=str(tmp_path / "b.png"))
                page.fill("#s_lr_d", "0.004")
                page.dispatch_event("#s_lr_d", "change")
                page.wait_for_function("() => document.getElementById('s_lr_d').value === '0.004'")
                page.click("#pause")
                page.wait_for_function("() => document.getElementById('meta').textContent.includes('paused')")
                held = page.evaluate(step)
                time.sleep(1.0)
                page.wait_for_timeout(1200)
                assert page.evaluate(step) == held  # paused: the counter stands
                assert page.text_content("#error") == ""
                lr_d = state.runs[0].opt_d.param_groups[0]["lr"]
                page.select_option("#s_loss", "wgan-gp")  # an unbounded critic: contour lines, not a heatmap
                page.click("#reset")
                page.click("#stepBoth")
                page.wait_for_function("() => document.getElementById('title0').textContent.includes('wgan-gp on')")
                key = page.text_content("#fieldKey0")
                assert "contour lines" in key and "critic" in key, key
                page.wait_for_function("() => document.getElementById('diracVerdict').textContent.length > 0")
                assert not page.text_content("#diracVerdict").startswith("converges")  # dirac: it circles
                page.select_option("#diracLesson", "dirac-r1")
                page.wait_for_function(
                    "() => document.getElementById('diracVerdict').textContent.startsWith('converges')"
                )
                page.select_option("#s_loss", "nonsaturating")
                page.select_option("#s_model", "flow")
                page.click("#reset")
                page.click("#stepBoth")
                page.wait_for_function("() => document.getElementById('title0').textContent.includes('flow on ring8')")
                page.wait_for_timeout(500)  # the particles' animation ticks
                assert page.text_content("#error") == ""
            finally:
                browser.close()
    finally:
        state.stop()
        srv.shutdown()
        srv.server_close()
    assert lr_d == 0.004  # the change reached the run
    assert not is_blank(tmp_path / "a.png") and (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()
    assert outside == [] and js_errors == []


def test_the_run_exports_as_a_gif(lab) -> None:
    _, base, tok = lab
    for _ in range(41):
        _cmd(base, tok, "a", action="step", what="both")
    code, body = _req(f"{base}/api/gif", tok)
    assert code == 200 and body[:6] == b"GIF89a"
    import io

    from PIL import Image

    with Image.open(io.BytesIO(body)) as im:
        assert im.n_frames == 3  # the kept states: steps 0, 20, 40


def test_a_failing_request_is_one_line_and_a_hang_up_is_nothing(capsys) -> None:
    """A handler that raises leaves one line on stderr (never a traceback); a viewer that hangs up leaves none."""

    class Failing(http.PageHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/reset"):
                raise ConnectionResetError("the viewer went away")
            raise ValueError("a bug")

    srv, _ = http.make_server(Failing, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        for path in ("/reset", "/bug"):
            with pytest.raises((urllib.error.URLError, ConnectionError, HTTPException)):
                urllib.request.urlopen(f"http://127.0.0.1:{srv.server_address[1]}{path}", timeout=10)
        time.sleep(0.2)
    finally:
        srv.shutdown()
        srv.server_close()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("a request from 127.0.0.1 failed: ValueError: a bug"), err


def test_a_request_that_trickles_in_gives_its_worker_back(monkeypatch) -> None:
    """A client that sends a byte every 0.2 s (never idle long enough for the per-read timeout) is cut off
    at the whole-request deadline, and a request sent whole is still answered."""
    monkeypatch.setattr(http.PageHandler, "deadline", 1.0)
    srv, tok, base = _serving(_state())
    try:
        slow = socket.create_connection(srv.server_address[:2])
        t, cut = time.monotonic(), False
        for byte in b"GET /api/info HTTP/1.0\r\nX-Padding: " + b"a" * 100:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                cut = True
                break
            slow.settimeout(0.2)
            try:
                if slow.recv(1) == b"":  # the server hung up
                    cut = True
                    break
            except TimeoutError:
                pass
        assert cut and time.monotonic() - t < 3
        slow.close()
        assert _req(f"{base}/api/info", tok)[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()
