"""``drawlab report RUN``: one self-contained HTML page (images inline, no network) that says what
happened in a run: the verdicts first, then the config, the final grid, the evolution, the curves,
D's distributions, the evaluation, the ranked gallery, and timing. Works on a run that is still
training or was interrupted: every section draws on whatever files exist."""

from __future__ import annotations

import base64
import html
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..config import guidance_words
from ..errors import DrawlabError
from ..files import atomic_write_bytes
from ..models import get_family
from ..records import verdicts
from ..records.figures import read_log, run_readout, sample_grids, write_figures
from ..records.histograms import load_history
from ..run import RunDir

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:1.6em}
.sub{color:#666} .verdict{border-left:5px solid #c0392b;background:#fdf2f0;padding:8px 12px;margin:8px 0}
.healthy{border-left:5px solid #27ae60;background:#eefaf2;padding:8px 12px} .try{color:#444}
table{border-collapse:collapse;font-size:.92em} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;border:1px solid #eee} .row{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
.note{color:#777;font-size:.9em} code{background:#f4f4f4;padding:0 3px}
"""


def _img(path: Path, alt: str, width: int | None = None) -> str:
    """An <img> with the file inline as a data: URI."""
    mime = {".png": "image/png", ".gif": "image/gif"}[path.suffix.lower()]
    data = base64.b64encode(path.read_bytes()).decode()
    w = f' width="{width}"' if width else ""
    return f'<img src="data:{mime};base64,{data}" alt="{html.escape(alt)}"{w}>'


def _table(rows: list[tuple[Any, ...]], head: tuple[str, ...]) -> str:
    def cell(v: Any, tag: str = "td") -> str:
        cls = ' class="num"' if isinstance(v, (int, float)) or (isinstance(v, str) and v[:1].isdigit()) else ""
        return f"<{tag}{cls if tag == 'td' else ''}>{html.escape(str(v))}</{tag}>"

    out = ["<table><tr>" + "".join(cell(h, "th") for h in head) + "</tr>"]
    out += ["<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows]
    return "".join(out) + "</table>"


def _state(run: RunDir) -> dict[str, Any]:
    """The newest checkpoint's training state (step, elapsed seconds, precision), or {}."""
    ck = run.latest_checkpoint()
    if ck is None:
        return {}
    try:
        s = torch.load(ck.state, map_location="cpu", weights_only=True)
        return {"step": int(s["step"]), "elapsed": float(s.get("elapsed", 0.0)), "precision": s.get("precision")}
    except Exception:
        return {"step": ck.step}


# -- sections ---------------------------------------------------------------------------------------
def verdict_section(run: RunDir, log: dict[str, list[dict]], steps: int, adversarial: bool = True) -> str:
    found = verdicts.read(run.monitor / "verdicts.jsonl")
    parts = ["<h2>Verdict</h2>"]
    if not found:
        parts.append(f'<div class="healthy">{html.escape(verdicts.healthy_line(steps, adversarial))}</div>')
    for v in found:
        since = f" (since step {v.since:,})" if v.since != v.step else ""
        parts.append(
            f'<div class="verdict"><b>{html.escape(v.kind.title)}</b> at step {v.step:,}{since}: '
            f'{html.escape(v.what)}.<br><span class="try">Try {html.escape(v.try_)}.</span></div>'
        )
    last = log["train"][-1] if log["train"] else None
    r = run_readout(run)
    if last and r is not None and r.keys[0] in last:
        real, fake = last[r.keys[0]], last[r.keys[1]]
        parts.append(
            f"<p>At the last record (step {last['step']:,}): {html.escape(r.names[0])} = {real:.2f}, "
            f"{html.escape(r.names[1])} = {fake:.2f} ({html.escape(r.meaning)}): "
            f"{html.escape(r.explain(real, fake))}.</p>"
        )
    return "".join(parts)


def model_rows(m: dict[str, Any], adversarial: bool) -> list[tuple[str, Any]]:
    """The config rows that depend on the family: G and D for the adversarial ones; one network, its
    objective and its sampling for the denoisers; one network for the rest."""
    adam = f"(Adam betas {m['beta1']}, {m['beta2']})"
    if adversarial:
        return [
            ("z dim / width / D width", f"{m['z_dim']} / {m['width']} / {m.get('d_width') or m['width']}"),
            ("learning rates G / D", f"{m['lr_g']:g} / {m['lr_d']:g} {adam}"),
            ("loss", m["loss"]),
        ]
    rows: list[tuple[str, Any]] = [
        ("z dim / width", f"{m['z_dim']} / {m['width']}"),
        ("learning rate", f"{m['lr_g']:g} {adam}"),
    ]
    if get_family(m["name"]).latent_is_image:
        sampler = m.get("sampler") or get_family(m["name"]).samplers[0]
        interval = {"guidance_interval": [m.get("guidance_low", 0.0), m.get("guidance_high", 1.0)]}
        guidance = f", guidance {guidance_words({**m, **interval})}" if m.get("guidance", 1.0) != 1.0 else ""
        shift = f", grid shift {m['sample_shift']:g}" if m.get("sample_shift", 1.0) != 1.0 else ""
        rows.append(("sampling", f"{sampler}, {m['sample_steps']} steps{shift}{guidance}"))
        if m["name"] == "ddpm":
            rows.append(("objective", f"{m.get('prediction', 'eps')} prediction, {m.get('schedule')} schedule"))
    return rows


def config_section(cfg_d: dict[str, Any], facts: dict[str, Any]) -> str:
    m, d = cfg_d["model"], cfg_d["data"]
    length = next((f"{cfg_d[k]} {k}" for k in ("steps", "epochs", "minutes") if cfg_d.get(k) is not None), "-")
    rows = [
        ("model", m["name"]),
        (
            "data",
            f"{facts.get('data_name', d['spec'])} {tuple(facts.get('shape', []))} x {facts.get('data_size', '?')}",
        ),
        ("preset", cfg_d.get("preset") or "-"),
        ("length", length),
        ("batch size", cfg_d["batch_size"]),
        *model_rows(m, get_family(m["name"]).adversarial),
        ("EMA half-life", f"{m['ema_images']:,.0f} images" if m["ema_images"] else "off"),
        ("seed", cfg_d["seed"]),
        ("device / precision", f"{cfg_d['device']} / {cfg_d['precision']}"),
    ]
    from ..config import ModelConfig

    on = ModelConfig(**{k: v for k, v in m.items() if k in ModelConfig.__dataclass_fields__}).tricks()
    rows.append(("tricks", ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in on.items()) or "none"))
    return "<h2>Config</h2>" + _table(rows, ("setting", "value"))


def eval_section(run: RunDir) -> str:
    p = run.path / "eval.json"
    if not p.is_file():
        return (
            f'<h2>Evaluation</h2><p class="note">Not evaluated yet: <code>drawlab evaluate {html.escape(str(run.path))}'
            "</code> measures FID, precision, recall, modes and more beside their real-data values.</p>"
        )
    from ..records.evals import fmt, headline, read_eval

    try:
        rec = read_eval(run.path)
    except DrawlabError as e:
        return f'<h2>Evaluation</h2><p class="note">{html.escape(str(e))}</p>'
    rows = [
        (name, fmt(e["value"], e.get("spread")), fmt(e.get("real"), e.get("real_spread")), e.get("better", ""))
        for name, e in rec["metrics"].items()
    ]
    return (
        "<h2>Evaluation</h2>"
        + f"<p>{html.escape(headline(rec))}</p>"
        + _table(rows, ("metric", "value", "real data", "better"))
    )


def timing_section(run: RunDir, log: dict[str, list[dict]], state: dict[str, Any], cfg_d: dict[str, Any]) -> str:
    ips = [r["img_per_s"] for r in log["train"] if isinstance(r.get("img_per_s"), (int, float))]
    rows = [
        ("step (newest checkpoint)", f"{state.get('step', 0):,}"),
        ("training time", f"{state.get('elapsed', 0.0) / 60:.1f} min"),
        ("speed (median over log intervals)", f"{statistics.median(ips):.0f} images/s" if ips else "-"),
        ("precision", state.get("precision") or cfg_d.get("precision")),
    ]
    last = log["train"][-1]["step"] if log["train"] else 0
    if last > state.get("step", 0):
        rows.append(("log reaches", f"step {last:,} (still training, or stopped after the last checkpoint)"))
    cks = run.list_checkpoints()
    size = sum(p.stat().st_size for c in cks for p in (c.weights, c.state) if p.exists())
    rows.append(("checkpoints kept", f"{len(cks)} ({size / 2**20:.1f} MiB)"))
    return "<h2>Timing and speed</h2>" + _table(rows, ("", ""))


def build_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    device: str = "cpu",
    gallery: bool = True,
    echo: Callable[[str], None] | None = None,
    feature_steps: int | None = None,
) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default RUN/report.html); returns its path."""
    run = RunDir(run_dir)
    cfg, facts = run.read_config()  # RunError (one line, exit 2) when the folder is not a run
    cfg_d = cfg.to_dict()
    out = Path(out) if out else run.path / "report.html"
    write_figures(run)
    log, state = read_log(run), _state(run)
    steps = max([state.get("step", 0)] + [r["step"] for r in log["train"]])
    m = run.monitor
    body = [
        f"<h1>drawlab report: {html.escape(run.path.name)}</h1>",
        f'<p class="sub">{html.escape(cfg.model.name)} on {html.escape(str(facts.get("data_name")))}, '
        f"step {steps:,} &middot; {html.escape(str(run.path.absolute()))}</p>",
        verdict_section(run, log, steps, get_family(cfg.model.name).adversarial),
        config_section(cfg_d, facts),
    ]
    grids = sample_grids(run)
    if grids:
        body.append(f"<h2>Samples from fixed noise, step {grids[-1][0]:,}</h2>" + _img(grids[-1][1], "final grid", 560))
    if (m / "evolution.gif").is_file():
        body.append(
            "<h2>Evolution</h2><div class='row'>"
            + _img(m / "evolution.gif", "evolution animation", 420)
            + _img(m / "evolution.png", "evolution strip", 620)
            + "</div>"
            + '<p class="note">The same fixed noise at each kept step: animation (left) and strip (right).</p>'
        )
    if (m / "losses.png").is_file():
        title = "Losses and D's outputs" if get_family(cfg.model.name).adversarial else "Losses"
        body.append(f"<h2>{title}</h2>" + _img(m / "losses.png", "losses"))
    if (m / "noise_loss.png").is_file():
        body.append(
            "<h2>Loss per noise level</h2>"
            + _img(m / "noise_loss.png", "loss per noise level")
            + '<p class="note">The denoiser\'s mean loss in each fifth of the noise level, early, midway and '
            "late in training. No line can reach zero: near the clean image the added noise can hardly be seen "
            "(the noise a DDPM predicts, the part of a flow's velocity that is noise), near pure noise the image "
            "can only be guessed. Read each level against itself over training: where a line has stopped "
            "falling, more training no longer helps there.</p>"
        )
    body.append(_heatmap_section(m))
    body.append(eval_section(run))
    if gallery:
        body.append(_gallery_section(run, device, echo, feature_steps))
    body.append(timing_section(run, log, state, cfg_d))
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>drawlab report: {html.escape(run.path.name)}"
        f"</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    )
    atomic_write_bytes(out, page.encode())
    return out


def _heatmap_section(m: Path) -> str:
    if not (m / "d_heatmap.png").is_file():
        return ""
    h = load_history(m / "d_hist.npz")
    auc = ""
    if h is not None and len(h["auc"]):
        a = h["auc"]
        auc = (
            f"<p>ROC-AUC of D separating real from generated: {a[0]:.2f} at the first snapshot, "
            f"{a.max():.2f} at most, {a[-1]:.2f} at the last (0.5: cannot tell them apart; 1: perfectly).</p>"
        )
    return "<h2>What D thinks, epoch by epoch</h2>" + _img(m / "d_heatmap.png", "D heatmap") + auc


def _gallery_section(run: RunDir, device: str, echo, feature_steps: int | None) -> str:
    from .gallery import ranked_gallery

    try:
        g = ranked_gallery(run.path, device=device, echo=echo, feature_steps=feature_steps)
    except DrawlabError as e:
        return f'<h2>Ranked gallery</h2><p class="note">{html.escape(str(e))}</p>'
    return (
        f"<h2>Ranked gallery</h2><p>{html.escape(g.method)}: top, {html.escape(g.top)}; "
        f"bottom, {html.escape(g.bottom)}.</p>" + _img(g.path, "ranked gallery", 620)
    )
