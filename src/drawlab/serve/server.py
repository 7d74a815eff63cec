"""The explorer over HTTP, with the standard library only: one page, a few JSON/PNG/GIF endpoints.

No outbound calls: the page has no external scripts, fonts or images (a Content-Security-Policy
forbids them), nothing is sent anywhere, and it listens on 127.0.0.1 unless told otherwise. Shared
with a classroom (``--host 0.0.0.0``) it stays safe: every request carries the printed URL's token and
threads and memory stay bounded (``serve.http``).

    GET /                 the page
    GET /api/info         the runs and their controls (JSON)
    GET /api/view?...     the picture, D's reading and its saliency (JSON with PNG data URLs)
    GET /api/png?...      the picture as a PNG download
    GET /api/gif?...      an interpolation GIF download (seed -> seed2)
A bad parameter is a 400 with one line of JSON ``{"error": ...}``.
"""

from __future__ import annotations

import sys
from importlib import resources
from urllib.parse import parse_qsl, urlparse

from ..errors import DrawlabError
from . import http
from .explorer import Explorer
from .http import BoundedServer, PageHandler


def page() -> bytes:
    return resources.files(__package__).joinpath("page.html").read_bytes()


class Handler(PageHandler):
    explorer: Explorer
    server_version = "drawlab-explorer"
    what = "this explorer"

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = dict(parse_qsl(url.query, keep_blank_values=True))
        ex = self.explorer
        try:
            if not self.allowed(q):
                return
            q.pop("token", None)
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


def make_server(
    explorer: Explorer, host: str = "127.0.0.1", port: int = 7860, token: str | None = None
) -> tuple[BoundedServer, str]:
    """A bounded server of ``explorer`` on (host, port) (port 0: any free one) and its token (default: a
    fresh random one); ConfigError when it cannot listen there."""
    return http.make_server(Handler, host, port, token, explorer=explorer)


def serve(explorer: Explorer, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve until Ctrl-C, printing the URL (with its token)."""
    server, tok = make_server(explorer, host, port)
    url = http.url_of(server, tok)
    print(f"explorer: {url}  ({len(explorer.runs)} run(s); Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
