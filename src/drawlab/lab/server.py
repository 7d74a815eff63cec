"""The 2D lab's live page over HTTP (standard library only), training in this process.

Shared safely, as Jupyter does: a random token is printed in the URL and every request must carry it
(``?token=`` or the ``X-Drawlab-Token`` header); one without it is a 403 with one line. Many viewers may
watch; one controls (the first to ask; control passes on after ``CONTROL_IDLE`` seconds without a
command). Memory and threads stay bounded: a fixed pool of workers serves the requests, a bounded queue
holds those waiting, more get a 503 at once (``serve.http``), idle connections time out, each run's
frame is computed once per step for every viewer, and a run keeps at most ``game.KEEP`` states for rewind. No request leaves the machine: the page has no
external script, font or image (a Content-Security-Policy forbids them).

    GET  /                 the page
    GET  /api/info         the settings' fields (help, range, live or not), the data, losses and lessons
    GET  /api/frame?run=I  what run I looks like now (``view.view``), with the play state
    GET  /api/export?run=I its settings.json (replays the run: `drawlab lab --settings FILE`)
    GET  /api/gif?run=I    a GIF of run I over its kept states
    GET  /api/dirac?r1=..  the Dirac-GAN (any of DiracSettings' fields): its path, field and verdict (dirac.dirac_view)
    POST /api/control      {"client": ID, "action": ..., ...}: play, pause, step, speed, set, reset,
                           rewind, fork, compare, close, draw, claim, release
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlparse

import torch

from ..errors import ConfigError, DrawlabError
from ..losses import LOSSES
from ..serve import http
from ..serve.http import CSP, BoundedServer, PageHandler
from .denoise import new_lab
from .dirac import dirac_view
from .dists import DISTS, Dist, points_dist
from .game import Lab
from .presets import LESSONS
from .settings import LIVE, Settings, flag, replace
from .updates import PHASES as GAME_PHASES
from .view import phase_line, view

CONTROL_IDLE = 60.0  # seconds without a command after which another viewer may take control
MAX_BODY = 1 << 20  # bytes of a POST body (a drawn distribution of ~20k points)
MAX_POINTS = 20000
TICK = 0.05  # seconds of training between two looks at the controls
TRAIN_THREADS = 1  # torch threads of the training thread: the MLPs are too small to share, and a second
# thread stalls whenever the browser (or anything else) takes the other core (benchmarks/lab_page.py)
PHASES = {
    "D": "D update: generate a batch, judge real and generated points, D's loss, its gradients, update D",
    "G": "G update: generate a batch, judge it, G's loss through D, its gradients, update G",
    "V": "denoiser update: draw data and noise, mix them at a random time, the regression loss, its gradients, "
    "update the network",
}


class Conflict(Exception):
    """Another viewer controls the lab."""


class LabState:
    """The runs of one lab (one, or two side by side), who controls them, and the training thread."""

    def __init__(self, s: Settings, dist: Dist | None = None, compare: dict[str, Any] | None = None):
        self.lock = threading.RLock()
        self.dist = dist
        self.runs: list[Lab] = [new_lab(s, dist)]
        if compare:
            self.runs.append(new_lab(replace(s, **compare), dist))
        self.playing = False
        self.slow = False  # slow motion: one D or G update per ``slow_every`` seconds, each named
        self.slow_every = 0.6
        self.phase = ""
        self.controller: str | None = None
        self.last_command = 0.0
        self.version = 0  # bumped by every change a frame shows
        self._frames: dict[int, tuple[int, bytes]] = {}
        self.rate = 0.0  # steps per second of the last tick
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._train, name="lab-train", daemon=True)

    # -- training --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop the training thread (waits for its tick to end)."""
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)

    def _train(self) -> None:
        torch.set_num_threads(TRAIN_THREADS)  # this thread's own setting; the server's threads keep theirs
        steps = 1
        while not self._stop.is_set():
            if not self.playing:
                time.sleep(TICK)
                continue
            if self.slow:
                with self.lock:
                    if not self.playing:  # paused while this thread waited for the lock
                        continue
                    self._slow_phase()
                    self.version += 1
                time.sleep(self.slow_every)
                continue
            t = time.perf_counter()
            with self.lock:
                if not self.playing or self.slow:  # paused (or slowed) while this thread waited for the lock
                    continue
                for lab in self.runs:
                    if lab.step_no < lab.s.steps:
                        lab.step(min(steps, lab.s.steps - lab.step_no))
                if all(lab.step_no >= lab.s.steps for lab in self.runs):
                    self.playing = False
                self.version += 1
                self.phase = ""
            dt = time.perf_counter() - t
            self.rate = steps / dt if dt > 0 else 0.0
            steps = max(1, min(500, int(steps * TICK / dt))) if dt > 0 else steps  # ~TICK seconds a tick
            time.sleep(0.002)  # let the page's requests in

    def _drawn(self, s: Settings) -> Dist | None:
        """The drawn distribution for settings that train on it (``dist = "points"``); None otherwise, so that
        a run on a named distribution never trains on the points drawn for an earlier one."""
        return self.dist if s.dist == "points" else None

    def _slow_phase(self) -> None:
        """Slow motion: every run shows the next phase of its current update (generate, judge, loss,
        gradients, update: ``game.PHASES``), the last one applying it; a denoiser's update is one phase."""
        lines = []
        for lab in self.runs:
            if lab.step_no >= lab.s.steps:
                lines.append("")
            elif lab.d is None:
                lines.append(PHASES[lab.sub_step()])
            else:
                p = lab.begin_update()
                p.phase += 1
                lines.append(phase_line(lab, p))
                if p.phase == len(GAME_PHASES) - 1:
                    lab.finish_update()
        if all(lab.step_no >= lab.s.steps for lab in self.runs):
            self.playing = False
        self.phase = lines[0]

    # -- what viewers get ------------------------------------------------------------------------------
    def frame(self, i: int) -> bytes:
        """Run ``i``'s view as JSON bytes, computed once per change for every viewer."""
        with self.lock:
            if not 0 <= i < len(self.runs):
                raise ConfigError(f"run {i} does not exist: this lab has {len(self.runs)} run(s)")
            cached = self._frames.get(i)
            if cached and cached[0] == self.version:
                return cached[1]
            lab = self.runs[i]
            v = view(lab)
            v.update(
                playing=self.playing,
                slow=self.slow,
                phase=self.phase,
                runs=len(self.runs),
                kept=sorted(lab.kept),
                controller=self.controller is not None,
                rate=round(self.rate, 1),
            )
            body = json.dumps(v).encode()
            self._frames[i] = (self.version, body)
            return body

    def export(self, i: int) -> bytes:
        with self.lock:
            return json.dumps(self.runs[i].recipe().to_json(), indent=1).encode()

    def gif(self, i: int, frames: int = 30) -> bytes:
        from .picture import frame, gif

        with self.lock:
            lab = copy.deepcopy(self.runs[i])
        kept = dict(lab.kept)  # restoring an early state forgets the later ones
        states = sorted(kept)
        pick = states[:: max(1, len(states) // frames)]
        pics = []
        for k in pick:
            lab.restore(kept[k])
            pics.append(frame(view(lab)))
        import io
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            p = gif(pics, Path(d) / "run.gif")
            return p.read_bytes() if pics else io.BytesIO().getvalue()

    # -- commands --------------------------------------------------------------------------------------
    def command(self, client: str, cmd: dict[str, Any]) -> dict[str, Any]:
        """Carry out one command of viewer ``client``; Conflict when another viewer controls the lab,
        ConfigError (one line) for a bad command."""
        action = cmd.get("action")
        now = time.monotonic()
        with self.lock:
            if action == "release":
                if self.controller == client:
                    self.controller = None
                return {"controller": False}
            if self.controller not in (None, client) and now - self.last_command < CONTROL_IDLE:
                raise Conflict("another viewer controls this lab: watch, or ask them to release it")
            self.controller, self.last_command = client, now
            if action == "claim":
                return {"controller": True}
            self._do(action, cmd)
            self.version += 1
            return {"controller": True, "step": self.runs[0].step_no}

    def _run(self, cmd: dict[str, Any]) -> Lab:
        i = cmd.get("run", 0)
        if not isinstance(i, int) or not 0 <= i < len(self.runs):
            raise ConfigError(f"run {i!r} does not exist: this lab has {len(self.runs)} run(s)")
        return self.runs[i]

    def _do(self, action: Any, cmd: dict[str, Any]) -> None:
        changes = cmd.get("changes") or {}
        if not isinstance(changes, dict):
            raise ConfigError('"changes" must be an object of setting: value')
        if action == "play":
            self.playing, self.slow = True, bool(cmd.get("slow", False))
        elif action == "pause":
            self.playing = False
        elif action == "step":
            what = cmd.get("what", "both")
            for lab in self.runs:
                if what == "both":
                    lab.step()
                    self.phase = ""
                elif what in ("D", "G"):
                    self.phase = PHASES[self._one(lab, what)]
                else:
                    raise ConfigError(f"step what={what!r}: use D, G or both")
        elif action == "set":
            self._run(cmd).change(**{k.replace("-", "_"): v for k, v in changes.items()})
        elif action == "reset":
            i = cmd.get("run", 0)
            lab = self._run(cmd)
            s = replace(dataclasses_replace(lab.s), **changes)
            self.runs[i] = new_lab(s, self._drawn(s))
            self.playing = False
        elif action == "rewind":
            self._run(cmd).rewind(_int(cmd.get("step"), "step"))
            self.playing = False
        elif action == "fork":
            lab = self.runs[0]
            step = cmd.get("step")
            self.runs[1:] = [lab.fork(_int(step, "step") if step is not None else None, **changes)]
            self.playing = False
        elif action == "compare":
            s = replace(dataclasses_replace(self.runs[0].s), **changes)
            first = dataclasses_replace(self.runs[0].s)
            self.runs[0] = new_lab(first, self._drawn(first))
            self.runs[1:] = [new_lab(s, self._drawn(s))]
            self.playing = False
        elif action == "close":
            del self.runs[1:]
        elif action == "draw":
            pts = cmd.get("points")
            if not isinstance(pts, list) or not 2 <= len(pts) <= MAX_POINTS:
                raise ConfigError(f"draw needs a list of 2 to {MAX_POINTS} points [x, y]")
            try:
                self.dist = points_dist(torch.tensor([[float(x), float(y)] for x, y in pts]))
            except (TypeError, ValueError):
                raise ConfigError("draw: every point must be a pair of numbers [x, y]") from None
            s = replace(dataclasses_replace(self.runs[0].s), dist="points", **changes)
            self.runs = [new_lab(s, self.dist)]
            self.playing = False
        else:
            raise ConfigError(
                f"unknown action {action!r}: use play, pause, step, set, reset, rewind, fork, compare, close, "
                "draw, claim or release"
            )

    @staticmethod
    def _one(lab: Lab, what: str) -> str:
        """One D update or one G update: the next sub-step, once the step has reached that player."""
        if lab.d is None:
            raise ConfigError(f"a {lab.s.model.value} run has no D and no G to step alone: step both")
        if what == "G" and lab.sub_no < lab.s.d_steps:
            while lab.sub_no < lab.s.d_steps:
                lab.sub_step()
        elif what == "D" and lab.sub_no >= lab.s.d_steps:
            while lab.sub_no != 0:
                lab.sub_step()
        return lab.sub_step()


def dataclasses_replace(s: Settings) -> Settings:
    """``s`` without its schedule (a reset or a new run starts without the old run's live changes)."""
    import dataclasses

    return dataclasses.replace(s, schedule=())


def _int(v: Any, name: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ConfigError(f"{name} must be a whole number >= 0, got {v!r}")
    return v


def info() -> dict[str, Any]:
    """The page's controls: every setting with its help, range and whether it changes live; the choices."""
    from dataclasses import fields

    out = []
    for f in fields(Settings):
        if f.name == "schedule":
            continue
        rng = f.metadata["range"]
        out.append(
            {
                "name": f.name,
                "flag": flag(f.name),
                "help": f.metadata["help"],
                "live": f.name in LIVE,
                "choices": list(f.metadata["choices"]),
                "range": None if rng is None else {"lo": rng.lo, "hi": rng.hi, "integer": rng.integer},
                "default": getattr(Settings(), f.name).value
                if hasattr(getattr(Settings(), f.name), "value")
                else getattr(Settings(), f.name),
            }
        )
    lessons = {k: {"teaches": v.teaches, "settings": v.settings} for k, v in LESSONS.items() if v.dirac is None}
    dirac = {k: {"teaches": v.teaches, **v.dirac.to_json()} for k, v in LESSONS.items() if v.dirac is not None}
    return {"settings": out, "dists": list(DISTS), "losses": list(LOSSES), "lessons": lessons, "dirac": dirac}


def page() -> bytes:
    return resources.files(__package__).joinpath("page.html").read_bytes()


class Handler(PageHandler):
    state: LabState
    server_version = "drawlab-lab"
    what = "this lab"
    csp = CSP + "; frame-ancestors 'none'"

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            if not self.allowed(q):
                return
            run = int(q.get("run", "0") or 0)
            if url.path in ("/", "/index.html"):
                self._send(200, page(), "text/html; charset=utf-8")
            elif url.path == "/api/info":
                self._json(200, info())
            elif url.path == "/api/frame":
                self._send(200, self.state.frame(run), "application/json")
            elif url.path == "/api/export":
                self._send(
                    200, self.state.export(run), "application/json",
                    {"Content-Disposition": 'attachment; filename="settings.json"'},
                )  # fmt: skip
            elif url.path == "/api/dirac":
                self._json(200, dirac_view(q))
            elif url.path == "/api/gif":
                self._send(
                    200, self.state.gif(run), "image/gif", {"Content-Disposition": 'attachment; filename="run.gif"'}
                )
            else:
                self._json(404, {"error": f"no such page: {url.path}"})
        except (DrawlabError, ValueError, IndexError) as e:
            self._json(400, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        url = urlparse(self.path)
        q = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            if not self.allowed(q):
                return
            if url.path != "/api/control":
                self._json(404, {"error": f"no such page: {url.path}"})
                return
            n = int(self.headers.get("Content-Length") or 0)
            if not 0 < n <= MAX_BODY:
                self._json(413, {"error": f"a command is a JSON body of at most {MAX_BODY} bytes"})
                return
            try:
                cmd = json.loads(self.rfile.read(n))
            except json.JSONDecodeError:
                self._json(400, {"error": "a command must be JSON"})
                return
            if not isinstance(cmd, dict) or not isinstance(cmd.get("client"), str):
                self._json(400, {"error": 'a command is {"client": ID, "action": ...}'})
                return
            self._json(200, self.state.command(cmd["client"], cmd))
        except Conflict as e:
            self._json(409, {"error": str(e)})
        except (DrawlabError, ValueError, TypeError) as e:
            self._json(400, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            pass


def make_server(
    state: LabState, host: str = "127.0.0.1", port: int = 7861, token: str | None = None
) -> tuple[BoundedServer, str]:
    """A bounded server for ``state`` on (host, port) (port 0: any free one) and its token."""
    return http.make_server(Handler, host, port, token, state=state)


def serve(
    s: Settings,
    dist: Dist | None = None,
    host: str = "127.0.0.1",
    port: int = 7861,
    compare: dict[str, Any] | None = None,
) -> None:
    """Serve the lab until Ctrl-C, printing its URL (with the token)."""
    state = LabState(s, dist, compare)
    server, tok = make_server(state, host, port)
    state.start()
    print(f"lab: {http.url_of(server, tok)}  (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.stop()
        server.server_close()
