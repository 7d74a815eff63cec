"""The ladder: every model in the registry, and the adversarial ones under each loss and stabiliser, trained
for the same CPU time on the same data, scored by `drawlab evaluate`, in one table and one figure.

    python benchmarks/ladder.py mnist:3 faces:10 doodle:3 --out /tmp/ladder   # train + evaluate (restartable)
    python benchmarks/ladder.py mnist faces --out /tmp/ladder --table          # table + figure of what is done

Budget: every run is `drawlab train --minutes M` on ONE thread (OMP_NUM_THREADS=1), two runs side by side
on the two cores, so each gets M core-minutes whatever it costs per step (the table shows the steps it
made). Data: `mnist` is mnist-5k (the 5,000 digits that are always at hand) at 28x28, batch 128;
`faces` is the first 10,000 CelebA faces of ../shared/data/celeba-10k at 64x64 RGB, batch 64; `doodle`
is 4,000 32x32 crops of the example drawing drawlab ships (`patches:example`), batch 64. As with
`drawlab train`, every run starts from a preset's settings (mnist and doodle: the default preset
mnist-cgan's -- z 64, width 64, Adam 4e-4, EMA half-life 8,800 images; faces: faces-dcgan's without its
DiffAugment -- z 100, width 32, Adam 2e-4, the same EMA, batch 64) with the model and the options in CONFIGS
on top. The faces ladder chose the preset's DiffAugment: its "(preset)" row is the preset as it is now.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from runner import Job, run_queue

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba-10k"
DATA = {
    "mnist": ["--data", "mnist-5k", "--batch-size", "128"],
    "faces": [
        "--preset",
        "faces-dcgan",
        "--diffaugment",
        "",
        "--data",
        f"folder:{FACES}",
    ],  # the preset before DiffAugment
    "doodle": ["--data", "patches:example", "--batch-size", "64"],
}
MNIST_DIGITS = ["--diffaugment", "translation,cutout"]  # colour jitter means nothing on grey digits
FACES_AUG = "color,translation,cutout"
CONFIGS: dict[str, dict[str, list[str]]] = {  # data: run name -> `drawlab train` options
    "mnist": {
        "mlp-mse": ["--model", "mlp-mse"],
        "conv-mse": ["--model", "conv-mse"],
        "ae": ["--model", "ae"],
        "vae": ["--model", "vae"],
        "gan": ["--model", "gan"],
        "dcgan": ["--model", "dcgan"],
        "cgan": ["--model", "cgan"],
        "msggan": ["--model", "msggan"],
        "cgan hinge+SN": ["--model", "cgan", "--loss", "hinge", "--spectral-norm", "d"],
        "cgan lsgan": ["--model", "cgan", "--loss", "lsgan"],
        "cgan wgan-gp": ["--model", "cgan", "--loss", "wgan-gp", "--d-steps", "5"],
        "cgan ra-hinge": ["--model", "cgan", "--loss", "ra-hinge"],
        "cgan R1": ["--model", "cgan", "--r1", "1"],
        "cgan DiffAugment": ["--model", "cgan", *MNIST_DIGITS],
        "cgan without EMA": ["--model", "cgan", "--ema", "0"],
    },
    "faces": {
        "mlp-mse": ["--model", "mlp-mse"],
        "conv-mse": ["--model", "conv-mse"],
        "ae": ["--model", "ae"],
        "vae": ["--model", "vae"],
        "gan": ["--model", "gan"],
        "dcgan": ["--model", "dcgan"],
        "dcgan without EMA": ["--model", "dcgan", "--ema", "0"],
        "dcgan hinge+SN": ["--model", "dcgan", "--loss", "hinge", "--spectral-norm", "d"],
        "dcgan DiffAugment (preset)": ["--model", "dcgan", "--diffaugment", FACES_AUG],
        "dcgan hinge+SN DiffAugment": [
            "--model",
            "dcgan",
            "--loss",
            "hinge",
            "--spectral-norm",
            "d",
            "--diffaugment",
            FACES_AUG,
        ],
        "msggan": ["--model", "msggan"],
        "msggan DiffAugment": ["--model", "msggan", "--diffaugment", FACES_AUG],
    },
    "doodle": {
        "dcgan": ["--model", "dcgan", "--width", "32"],
        "dcgan DiffAugment": ["--model", "dcgan", "--width", "32", "--diffaugment", "translation,cutout"],
    },
}
COLUMNS = ("fid", "swd", "precision", "recall", "coverage", "modes", "memorised", "cas", "cond-acc")


def slug(name: str) -> str:
    """'cgan hinge+SN' -> 'cgan_hinge-SN' (the run's folder)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name.replace("+", "-")).strip("_")


def metric(rec: dict, kind: str) -> dict | None:
    """The entry of eval.json's metrics of this kind (fid, precision, ...), or None."""
    return next((e for e in rec["metrics"].values() if e.get("kind") == kind), None)


def cell(e: dict | None, kind: str, real: bool = False) -> str:
    if e is None or (real and e.get("real") is None):
        return "-"
    v = e["real"] if real else e["value"]
    if kind == "fid":
        return f"{v:.1f}" if real else f"{v:.1f} ± {e['spread']:.1f}"
    if kind == "swd":
        return f"{v:.0f}"
    if kind == "modes":
        return f"{v:.0f}"
    return f"{100 * v:.0f}%" if kind in ("memorised", "cas", "cond-acc") else f"{v:.2f}"


def table(out: Path, data: str, names: list[str]) -> str:
    """Markdown: one row per evaluated run, then the real-data row (the same metric on held-out real images)."""
    recs = {
        n: json.loads((out / "runs" / slug(n) / "eval.json").read_text())
        for n in names
        if (out / "runs" / slug(n) / "eval.json").is_file()
    }
    if not recs:
        return "(nothing evaluated yet)"
    first = next(iter(recs.values()))
    fid_name = next((k for k, e in first["metrics"].items() if e.get("kind") == "fid"), "fid")
    head = [
        "run",
        "steps",
        f"FID ({fid_name})",
        "SWD (lap7)",
        "precision",
        "recall",
        "coverage",
        "modes",
        "memorised",
        "CAS",
        "cond. acc.",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for n, rec in recs.items():
        rows.append("| " + " | ".join([n, f"{rec['step']:,}"] + [cell(metric(rec, k), k) for k in COLUMNS]) + " |")
    real = {
        k: next((metric(r, k) for r in recs.values() if metric(r, k) and metric(r, k).get("real") is not None), None)
        for k in COLUMNS
    }
    rows.append("| real data | | " + " | ".join(cell(real[k], k, real=True) for k in COLUMNS) + " |")
    return "\n".join(rows)


def figure(out: Path, names: list[str], n: int = 10, scale: int = 1) -> Path | None:
    """One row per run: its name, then ``n`` samples from seeds 0..n-1 (conditional runs: classes 0..9)."""
    import drawlab

    rows, titles = [], []
    for name in names:
        run = out / "runs" / slug(name)
        if (run / "eval.json").is_file():
            rows.append(drawlab.load(run).sample_tensor(seeds=range(n))[0])
            titles.append(name)
    if not rows:
        return None
    c, h, w = rows[0].shape[1:]
    label_w, pad = 180, 2
    canvas = Image.new("RGB", (label_w + n * (w * scale + pad), len(rows) * (h * scale + pad)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (imgs, title) in enumerate(zip(rows, titles)):
        y0 = r * (h * scale + pad)
        draw.text((4, y0 + h * scale // 2 - 6), title, fill="black")
        for i, img in enumerate(imgs):
            tile = Image.fromarray(img.permute(1, 2, 0).squeeze(-1).numpy()).convert("RGB")
            canvas.paste(tile.resize((w * scale, h * scale), Image.NEAREST), (label_w + i * (w * scale + pad), y0))
    path = out / "ladder.png"
    canvas.save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "ladders",
        nargs="+",
        metavar="DATA[:MINUTES]",
        help=f"one or more of {', '.join(CONFIGS)}, each with its minutes per run (default 3)",
    )
    ap.add_argument("--out", type=Path, required=True, help="results go to OUT/DATA/ (runs/, logs/, ladder.md, .png)")
    ap.add_argument("--runs", nargs="+", help="only these runs (names as in CONFIGS)")
    ap.add_argument("--first", nargs="+", default=[], metavar="DATA:NAME", help="schedule these runs first")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--table", action="store_true", help="only the table and figure of what is evaluated")
    a = ap.parse_args(argv)
    ladders = [(d.split(":")[0], float(d.split(":")[1]) if ":" in d else 3.0) for d in a.ladders]
    jobs = [
        Job(
            a.out / data / "runs" / slug(n),
            [*DATA[data], *CONFIGS[data][n], "--seed", "0"],
            ["--minutes", f"{minutes:g}"],
        )
        for data, minutes in ladders
        for n in CONFIGS[data]
        if not a.runs or n in a.runs
    ]
    first = {a.out / d / "runs" / slug(n) for d, n in (f.split(":", 1) for f in a.first)}
    jobs.sort(key=lambda j: j.run not in first)  # stable: the rest keep their order
    if not a.table:
        from drawlab.device import cpu_model

        print(
            f"# ladder {' '.join(a.ladders)} (core-minutes per run), {cpu_model()}, {time.strftime('%Y-%m-%d %H:%M')}",
            flush=True,
        )
        run_queue(a.out / "logs", jobs, a.parallel)
    for data, _ in ladders:
        md = table(a.out / data, data, list(CONFIGS[data]))
        (a.out / data / "ladder.md").write_text(md + "\n")
        print(f"\n## {data}\n{md}")
        print(f"figure: {figure(a.out / data, list(CONFIGS[data]), scale=1 if data == 'faces' else 2)}")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(2)
    sys.exit(main())
