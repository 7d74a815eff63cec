"""What the explorer's and the lab's servers share (standard library only): a quiet handler whose answers
carry a strict Content-Security-Policy, the token every request must carry, and a server whose threads and
memory stay bounded however many connect, so a teacher may serve either page to a classroom
(``--host 0.0.0.0``).

- The token, as Jupyter does: a random one is printed in the URL; a request carries it as ``?token=`` or
  in the ``X-Drawlab-Token`` header, else it is a 403 with one line.
- Bounded: ``MAX_CLIENTS`` worker threads serve the requests; up to ``MAX_WAITING`` more connections wait
  their turn in a queue; beyond that, a 503 with one line at once. An idle connection gives its worker
  back after ``PageHandler.timeout`` seconds, a request still arriving (a byte now and then) after
  ``PageHandler.deadline`` seconds in all.
"""

from __future__ import annotations

import errno
import io
import json
import queue
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from ..errors import ConfigError

CSP = (
    "default-src 'none'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'"
)
TOKEN_HEADER = "X-Drawlab-Token"
MAX_CLIENTS = 16  # worker threads: requests served at once
MAX_WAITING = 64  # connections that wait for a worker; more are answered 503 at once
BUSY = b'{"error": "too many viewers at once: retry shortly"}'


class _Deadline(io.RawIOBase):
    """A socket's reading side that gives up (TimeoutError) once ``seconds`` have passed in all, however the
    bytes trickle in: a client that sends a byte every few seconds cannot hold a worker. Each read waits at
    most ``per_read`` s, and the socket is left at that timeout for the answer's writes."""

    def __init__(self, sock: socket.socket, seconds: float, per_read: float):
        self.sock, self.end, self.per_read = sock, time.monotonic() + seconds, per_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took too long to arrive")
        self.sock.settimeout(min(left, self.per_read))
        try:
            return self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(self.per_read)


class PageHandler(BaseHTTPRequestHandler):
    """A quiet handler whose answers all carry ``csp`` and are never cached; ``allowed`` checks the token."""

    csp = CSP
    token = ""  # set per server by ``make_server``
    what = "this page"  # named in the 403 line
    timeout = 10  # an idle connection gives its worker back after this many seconds without a byte
    deadline = 10  # ... and a request that has not fully arrived after this many seconds in all

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the plain reader setup() made: its file handle on the socket goes at once
        self.rfile = io.BufferedReader(_Deadline(self.connection, self.deadline, self.timeout))

    def log_message(self, fmt, *args) -> None:  # quiet: the terminal is for the URL and errors
        pass

    def allowed(self, q: dict[str, str]) -> bool:
        """True when the request carries the server's token (query or header); else answers 403."""
        given = q.get("token") or self.headers.get(TOKEN_HEADER) or ""
        if self.token and secrets.compare_digest(given.encode(), self.token.encode()):
            return True
        self._json(403, {"error": f"{self.what} needs its token: open the URL it printed (with ?token=...)"})
        return False

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

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")


class BoundedServer(HTTPServer):
    """An HTTP server with a fixed pool of ``MAX_CLIENTS`` workers and a queue of at most ``MAX_WAITING``
    connections; a connection beyond those is answered 503 at once and closed."""

    request_queue_size = 64  # the listen backlog

    def __init__(self, address: tuple[str, int], handler: type[PageHandler]):
        self.tickets = threading.BoundedSemaphore(max(1, MAX_CLIENTS) + max(0, MAX_WAITING))  # admitted at once
        self.waiting: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue()  # as long as the tickets
        self.workers: list[threading.Thread] = []  # none yet: a failed bind closes the server before they start
        super().__init__(address, handler)
        self.workers = [threading.Thread(target=self._work, daemon=True) for _ in range(max(1, MAX_CLIENTS))]
        for t in self.workers:
            t.start()

    def process_request(self, request: Any, client_address: Any) -> None:  # a TCP socket and its (host, port)
        if self.tickets.acquire(blocking=False):
            self.waiting.put((request, client_address))
        else:
            try:
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(BUSY)}\r\n\r\n".encode()
                    + BUSY
                )
            except OSError:
                pass
            self.shutdown_request(request)

    def _work(self) -> None:
        while (item := self.waiting.get()) is not None:
            request, address = item
            try:
                self.finish_request(request, address)
            except Exception:
                self.handle_error(request, address)
            finally:
                self.shutdown_request(request)
                self.tickets.release()

    def handle_error(self, request: Any, client_address: tuple[str, int]) -> None:
        """A viewer that hung up (an OSError: reset, broken pipe) is nothing to report; anything else is one
        line on stderr, never a traceback on the teacher's terminal."""
        kind, err, _ = sys.exc_info()
        if kind is not None and not issubclass(kind, OSError):
            print(f"a request from {client_address[0]} failed: {kind.__name__}: {err}", file=sys.stderr, flush=True)

    def server_close(self) -> None:
        super().server_close()
        for _ in self.workers:  # each worker stops at its sentinel, after the connections queued before it
            self.waiting.put(None)


def make_server(
    handler: type[PageHandler], host: str, port: int, token: str | None = None, **attrs: Any
) -> tuple[BoundedServer, str]:
    """A bounded server for ``handler`` (given ``attrs``, e.g. the explorer it shows) on (host, port) (port
    0: any free one) with ``token`` (default: a fresh random one), and the token; ConfigError (one line) when
    it cannot listen there."""
    tok = token or secrets.token_urlsafe(18)
    cls = type(handler.__name__, (handler,), {**attrs, "token": tok})
    try:
        return BoundedServer((host, port), cls), tok
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is in use on {host}: give another --port (or --port 0 for any free one)"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e}): check --host and --port") from None


def url_of(server: HTTPServer, token: str) -> str:
    """The URL to print: http://HOST:PORT/?token=TOKEN."""
    h, p = server.server_address[:2]
    if isinstance(h, (bytes, bytearray)):  # typeshed allows bytes; an AF_INET socket names its host as str
        h = h.decode()
    return f"http://{h}:{p}/?token={token}"
