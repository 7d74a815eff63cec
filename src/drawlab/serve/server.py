"""The explorer over HTTP, with the standard library only: one page, a few JSON/PNG/GIF endpoints.

No outbound calls: the page has no external scripts, fonts or images (a Content-Security-Policy
forbids them), nothing is sent anywhere, and it listens on 127.0.0.1 unless told otherwise.

    GET /                 the page
    GET /api/info         the runs and their controls (JSON)
    GET /api/view?...     the picture, D's reading and its saliency (JSON with PNG data URLs)
    GET /api/png?...      the picture as a PNG download
    GET /api/gif?...      an interpolation GIF download (seed -> seed2)
A bad parameter is a 400 with one line of JSON ``{"error": ...}``.
"""

from __future__ import annotations

import errno
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlparse

from ..errors import ConfigError, DrawlabError
from .explorer import Explorer

CSP = (
    "default-src 'none'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'"
)


def page() -> bytes:
    return resources.files(__package__).joinpath("page.html").read_bytes()


class PageHandler(BaseHTTPRequestHandler):
    """A quiet handler whose answers all carry ``csp`` and are never cached (the explorer's, the lab's)."""

    csp = CSP

    def log_message(self, fmt, *args) -> None:  # quiet: the terminal is for the URL and errors
        pass

    def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")


class Handler(PageHandler):
    explorer: Explorer
    server_version = "drawlab-explorer"

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = dict(parse_qsl(url.query, keep_blank_values=True))
        ex = self.explorer
        try:
            if url.path in ("/", "/index.html"):
                self._send(200, page(), "text/html; charset=utf-8")
            elif url.path == "/api/info":
                self._json(200, ex.info())
            elif url.path == "/api/view":
                self._json(200, ex.view_json(q))
            elif url.path == "/api/png":
                seed = q.get("seed", "0")
                self._send(
                    200,
                    ex.view({**q, "saliency": "0"}).png,
                    "image/png",
                    {"Content-Disposition": f'attachment; filename="seed-{int(seed or 0)}.png"'},
                )
            elif url.path == "/api/gif":
                self._send(
                    200, ex.gif(q), "image/gif", {"Content-Disposition": 'attachment; filename="interpolation.gif"'}
                )
            else:
                self._json(404, {"error": f"no such page: {url.path}"})
        except (DrawlabError, ValueError) as e:
            self._json(400, {"error": str(e)})
        except (BrokenPipeError, ConnectionResetError):
            pass


def make_server(explorer: Explorer, host: str = "127.0.0.1", port: int = 7860) -> ThreadingHTTPServer:
    """A server bound to (host, port) (port 0: any free one); ConfigError when it cannot listen there."""
    handler = type("ExplorerHandler", (Handler,), {"explorer": explorer})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is in use on {host}: give another --port (or --port 0 for any free one)"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e}): check --host and --port") from None
    server.daemon_threads = True
    return server


def serve(explorer: Explorer, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve until Ctrl-C, printing the address."""
    server = make_server(explorer, host, port)
    h, p = server.server_address[:2]
    if isinstance(h, (bytes, bytearray)):  # typeshed allows bytes; an AF_INET socket names its host as str
        h = h.decode()
    print(f"explorer: http://{h}:{p}/  ({len(explorer.runs)} run(s); Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
