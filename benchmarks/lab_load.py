"""A classroom on the loopback: `drawlab lab` served, one viewer presses play, N viewers poll its frames a few
times a second; the server's threads and memory (from /proc) and how training keeps up, per N.

    python benchmarks/lab_load.py --clients 10,50,100,200 --seconds 20

Per N: answers (200 and 503: the server's bound on requests at once), frame latency (median, 95th
percentile), the server's peak threads and resident memory, and the steps trained per second meanwhile.
Prints the CPU model first. Linux only (reads /proc/PID/status).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from drawlab.device import cpu_model

DRAWLAB = str(Path(sys.executable).with_name("drawlab"))


def proc_status(pid: int) -> tuple[int, float]:
    """(threads, resident MiB) of process ``pid``."""
    text = Path(f"/proc/{pid}/status").read_text()
    threads = int(re.search(r"^Threads:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    rss_kb = int(re.search(r"^VmRSS:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    return threads, rss_kb / 1024


def request(url: str, token: str, body: dict | None = None) -> tuple[int, bytes, float]:
    """(status, body, seconds) of one request with the token."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-Drawlab-Token": token, **({"Content-Type": "application/json"} if data else {})}
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=30) as r:
            return r.status, r.read(), time.perf_counter() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.perf_counter() - t
    except OSError:
        return 0, b"", time.perf_counter() - t


def start_server(port: int) -> tuple[subprocess.Popen, str]:
    """`drawlab lab --port PORT` in a child process, and its token (read from the URL it prints)."""
    p = subprocess.Popen([DRAWLAB, "lab", "--port", str(port)], stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    for line in p.stderr:
        if m := re.search(r"token=(\S+)", line):
            return p, m.group(1)
    raise SystemExit(f"the lab did not start: exit {p.wait()}")


def load(base: str, token: str, pid: int, clients: int, seconds: float, hz: float) -> dict:
    """``clients`` viewers polling /api/frame at ``hz`` for ``seconds``; what the server did meanwhile."""
    codes: list[int] = []
    lat: list[float] = []
    stop = time.monotonic() + seconds

    def viewer() -> None:
        while time.monotonic() < stop:
            code, _, dt = request(f"{base}/api/frame", token)
            codes.append(code)
            if code == 200:
                lat.append(dt)
            time.sleep(max(0.0, 1 / hz - dt))

    step0 = json.loads(request(f"{base}/api/frame", token)[1])["step"]
    t0 = time.monotonic()
    threads = [threading.Thread(target=viewer, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    peak_threads, peak_rss = 0, 0.0
    while time.monotonic() < stop:
        n, rss = proc_status(pid)
        peak_threads, peak_rss = max(peak_threads, n), max(peak_rss, rss)
        time.sleep(0.25)
    for t in threads:
        t.join()
    step1 = json.loads(request(f"{base}/api/frame", token)[1])["step"]
    lat.sort()
    return {
        "clients": clients,
        "answers": len(codes),
        "ok": codes.count(200),
        "busy_503": codes.count(503),
        "failed": len(codes) - codes.count(200) - codes.count(503),
        "latency_ms_median": 1000 * statistics.median(lat) if lat else None,
        "latency_ms_p95": 1000 * lat[int(0.95 * (len(lat) - 1))] if lat else None,
        "server_threads_peak": peak_threads,
        "server_rss_mib_peak": round(peak_rss, 1),
        "steps_per_second": (step1 - step0) / (time.monotonic() - t0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="10,50,100,200", help="viewer counts, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="per count")
    ap.add_argument("--hz", type=float, default=4.0, help="frames each viewer asks for per second")
    ap.add_argument("--port", type=int, default=7871)
    a = ap.parse_args(argv)
    print(f"CPU: {cpu_model()}")
    server, token = start_server(a.port)
    base = f"http://127.0.0.1:{a.port}"
    try:
        code, body, _ = request(f"{base}/api/control", token, {"client": "teacher", "action": "play"})
        assert code == 200, body
        time.sleep(2)
        idle_threads, idle_rss = proc_status(server.pid)
        print(f"server idle, playing: {idle_threads} threads, {idle_rss:.0f} MiB resident")
        print(
            "| viewers | answers | 200 | 503 | failed | latency median / p95 (ms) | server threads (peak) "
            "| server memory (peak MiB) | steps/s meanwhile |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in (int(c) for c in a.clients.split(",")):
            r = load(base, token, server.pid, n, a.seconds, a.hz)
            print(
                f"| {n} | {r['answers']} | {r['ok']} | {r['busy_503']} | {r['failed']} | "
                f"{r['latency_ms_median'] or 0:.0f} / {r['latency_ms_p95'] or 0:.0f} | {r['server_threads_peak']} | "
                f"{r['server_rss_mib_peak']:.0f} | {r['steps_per_second']:.0f} |",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
