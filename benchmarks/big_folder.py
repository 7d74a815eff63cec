"""Scale of data: a folder of 200,000 small images trains with bounded memory.

    python benchmarks/big_folder.py --n 200000 --out /tmp/big      # makes the folder once (~1 GB), then trains

Makes N 64x64 RGB JPEGs (smooth random colour fields, in 100 class folders), then runs
``drawlab train --data folder:DIR --size 64 --channels 3`` (DCGAN width 16, batch 64) for --steps steps in a
child process and prints the child's peak RSS (target: under 2 GiB; the images alone would be 2.5 GB as
uint8, so drawlab streams them) and training images/s. Then the cache: two processes open the same
small folder at once (in-memory mode, decoded cache written by whichever finishes first, atomically) and
must see identical images, and a third reads the cache.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_images(root: Path, n: int, classes: int = 100, size: int = 64) -> None:
    """n JPEGs under root/cNN/ (skipped when root/.done says they are there)."""
    done = root / ".done"
    if done.is_file() and int(done.read_text()) == n:
        return
    rng = np.random.default_rng(0)
    t = time.time()
    for i in range(n):
        d = root / f"c{i % classes:02d}"
        if i < classes:
            d.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(small).resize((size, size), Image.BILINEAR).save(d / f"{i:06d}.jpg", quality=85)
        if i and i % 20000 == 0:
            print(f"  {i:,} images made ({time.time() - t:.0f} s)", flush=True)
    done.write_text(str(n))


def train(root: Path, out: Path, steps: int) -> dict:
    """Train in a child process; its peak RSS (MiB) and images/s."""
    cmd = [
        sys.executable,
        "-m",
        "drawlab",
        "train",
        "--data",
        f"folder:{root}",
        "--size",
        "64",
        "--channels",
        "3",
        "--model",
        "dcgan",
        "--width",
        "16",
        "--batch-size",
        "64",
        "--steps",
        str(steps),
        "--no-progress",
        "--out",
        str(out),
    ]
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t
    if p.returncode:
        raise SystemExit(p.stderr)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"img_per_s"' in x]
    ips = float(np.median([r["img_per_s"] for r in recs])) if recs else float("nan")
    return {
        "peak_rss_mib": rss,
        "img_per_s": ips,
        "wall_s": wall,
        "notice": [ln for ln in p.stderr.splitlines() if "stream" in ln.lower()],
    }


def _open(spec: str, q) -> None:
    from drawlab.data import open_dataset

    ds = open_dataset(spec, size=32, channels=3)
    q.put((ds.fingerprint, ds.images.sum().item(), ds.images.shape[0]))


def shared_cache(root: Path) -> bool:
    """Two processes decode the same folder at once, then a third reads the cache: all identical."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_open, args=(f"folder:{root}", q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    third = ctx.Process(target=_open, args=(f"folder:{root}", q))
    third.start()
    third.join()
    got = [q.get() for _ in range(3)]
    return all(g == got[0] for g in got) and all(p.exitcode == 0 for p in [*procs, third])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    import torch

    from drawlab.device import cpu_model

    print(f"cpu: {cpu_model()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    os.environ.setdefault("DRAWLAB_DATA", str(a.out / "data-root"))
    t = time.time()
    make_images(a.out / "images", a.n)
    print(f"{a.n:,} images of 64x64x3 in {a.out / 'images'} ({time.time() - t:.0f} s)")
    r = train(a.out / "images", a.out / f"run-{int(time.time())}", a.steps)
    print(
        f"training {a.steps} steps at batch 64: peak RSS {r['peak_rss_mib']:.0f} MiB, {r['img_per_s']:.0f} img/s "
        f"(median of the logged intervals), {r['wall_s']:.0f} s in all"
    )
    small = a.out / "small"
    make_images(small, 2000, classes=10)
    print(
        f"decoded cache shared by two processes at once, then read by a third: "
        f"{'identical' if shared_cache(small) else 'DIFFERENT'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
