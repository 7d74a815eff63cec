"""Explorer latency: how long each change on the page takes to come back, over real HTTP.

    python benchmarks/bench_explorer.py RUN [RUN ...] [--repeats 30] [--threads N]

For each run, every kind of change the page makes (a new seed; a principal-direction slider; a raw
dimension; the interpolation slider; the checkpoint slider; with D's reading and saliency, as the
page asks, and without) is requested ``--repeats`` times with fresh values, after a warm-up; prints
the median and 95th percentile round trip in ms, with the CPU model and its measured matmul peak.
``--threads 1`` emulates a slower machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import matmul_peak
from drawlab.device import cpu_model
from drawlab.serve import Explorer, make_server


def changes(run: int, info: dict, i: int) -> dict[str, str]:
    """The query of each kind of change, with fresh values for repeat ``i``."""
    base = {"run": str(run), "seed": str(1000 + i)}
    k = len(info["directions"])
    snaps = info["snapshots"] or [None]
    out = {
        "seed": base,
        "direction slider": {
            **base,
            "dirs": ",".join(f"{(i % 13 - 6) / 2:.1f}" if j == 0 else "0" for j in range(max(k, 1))),
        },
        "raw dimension": {**base, "dim": str(i % info["z_dim"]), "dimval": f"{(i % 9 - 4) / 2:.1f}"},
        "interpolation slider": {**base, "seed2": "7", "t": f"{(i % 50) / 50:.2f}"},
        "checkpoint slider": {**base, "snapshot": str(snaps[i % len(snaps)]) if snaps[0] is not None else ""},
    }
    if not k:
        del out["direction slider"]
    return out


def get(url: str) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        r.read()
    return 1000 * (time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, help="torch threads (1 emulates a slow machine)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"# drawlab explorer latency, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"cpu: {cpu_model()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}; "
        f"measured fp32 matmul peak {matmul_peak(torch.device('cpu'), torch.float32):.0f} GFLOP/s"
    )
    ex = Explorer(a.runs, k=6)
    srv, token = make_server(ex, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/api/view?token={token}&"
    info = ex.info()["runs"]
    print(
        "\n| run | model, image | change | with D's reading + saliency: median / p95 ms | picture only: median / p95 ms |"
    )
    print("| --- | --- | --- | --- | --- |")
    for r, meta in enumerate(info):
        for i in range(len(meta["snapshots"]) + 3):  # warm-up: every snapshot loaded once
            get(url + urllib.parse.urlencode(changes(r, meta, i)["checkpoint slider"]))
        for kind in changes(r, meta, 0):
            cols = []
            for sal in ("1", "0"):
                ts = [
                    get(url + urllib.parse.urlencode({**changes(r, meta, i)[kind], "saliency": sal}))
                    for i in range(a.repeats)
                ]
                cols.append(f"{statistics.median(ts):.1f} / {sorted(ts)[int(0.95 * (len(ts) - 1))]:.1f}")
            shape = "x".join(map(str, meta["shape"][1:])) + f"x{meta['shape'][0]}"
            print(f"| {meta['name']} | {meta['model']}, {shape} | {kind} | {cols[0]} | {cols[1]} |")
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
