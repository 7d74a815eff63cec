"""Hand a model on: ``drawlab export RUN DIR`` writes a self-describing folder, as diffusers' save_pretrained.

    DIR/config.json        the run's config (TrainConfig + data facts) and an "export" section: format, step,
                           which network, the training run it came from, training seconds
    DIR/model.safetensors  the sampling network only (the EMA copy when the run kept one); no pickled code
    DIR/README.md          the model card: data and its fingerprint, model, budget and machine, how it was
                           trained, its evaluation with protocol and real-data floor, samples, use and limits
    DIR/samples.png        seeds 0..63, as `drawlab sample DIR --seeds 0-63` draws them
    DIR/model.onnx         with --onnx: the sampling network as ONNX (a GAN's generator: z, label -> image in
                           [-1, 1]; a flow's or DDPM's network: x, t, label -> its prediction, the sampler's
                           loop staying outside), checked against torch with onnxruntime when it is installed

``drawlab.load(DIR)``, ``sample``, ``interpolate`` and ``serve`` take DIR as they take a run (``RunDir``
knows an exported folder) and draw the same pixels for the same seed.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from .api import Drawer
from .config import TrainConfig
from .errors import ConfigError, RunError
from .files import atomic_write, atomic_write_bytes, atomic_write_json
from .images import grid_array, save_png
from .models import Family
from .models.denoising import DenoisingFamily
from .run import CONFIG, EXPORT_FORMAT, EXPORT_WEIGHTS, RunDir, pretrained_root

CARD = "README.md"
ONNX = "model.onnx"
SAMPLES = "samples.png"
SAMPLE_SEEDS = list(range(64))

# what is known of the licences of the data drawlab reads by name; a folder's is its owner's to state
LICENCES = {
    "mnist": "MNIST (LeCun, Cortes and Burges): distributed under CC BY-SA 3.0",
    "fashion": "Fashion-MNIST (Zalando Research): MIT licence",
    "celeba": "CelebA (Liu et al. 2015): for non-commercial research purposes only (the CelebA agreement); "
    "the faces are of real people: do not use generated faces to impersonate or deceive",
}


def export_run(
    run_dir: str | Path,
    out: str | Path,
    checkpoint: str | int | None = None,
    command: str | None = None,
    onnx: bool = False,
    say: Callable[[str], None] = print,
) -> Path:
    """Write the export folder ``out`` (see the module docstring) from ``run_dir``'s checkpoint; ``command``:
    the command line that trained it, for the card (else one is made from the config). Returns ``out``."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} already exists and is not an empty folder: choose a new DIR to export into")
    run = RunDir(run_dir)
    family, cfg, facts, ck = run.open_family(checkpoint, torch.device("cpu"))
    net = family.drawing_net()
    weights = {f"{net}.{k}": v.detach().cpu().contiguous() for k, v in family.nets[net].state_dict().items()}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot make {out} ({e.strerror or e}): choose another DIR") from None
    meta = {"format": EXPORT_FORMAT, "model": family.name, "step": str(ck.step), "net": net}
    atomic_write(out / EXPORT_WEIGHTS, lambda tmp: save_file(weights, str(tmp), metadata=meta), "checkpoint")
    seconds = run.training_seconds(ck) if not run.is_export else _exported(run).get("training_seconds")
    export: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "step": ck.step,
        "net": net,
        "from": run.path.name,
        "exported": time.strftime("%Y-%m-%d"),
        "training_seconds": seconds,
        "parameters": sum(p.numel() for p in family.nets[net].parameters()),
    }
    if onnx:
        checked = export_onnx(family, out / ONNX, cfg.model.z_dim, tuple(facts["shape"]))
        export["onnx"], diff = checked, checked["max_abs_diff"]
        say(f"ONNX: {out / ONNX}" + (f", max |onnxruntime - torch| = {diff:.2e}" if diff is not None else ""))
    atomic_write_json(out / CONFIG, {"train": cfg.to_dict(), "facts": facts, "export": export}, "config")
    drawer = Drawer(family, cfg, facts, ck.step, torch.device("cpu"), RunDir(out))
    images, _ = drawer.sample_tensor(seeds=SAMPLE_SEEDS)
    save_png(grid_array(images, nrow=8), out / SAMPLES)
    evaluation = _evaluation(run.path)
    shipped = out.resolve().parent == pretrained_root().resolve()  # `make pretrained` writes into the package
    ref = f"pretrained:{out.name}" if shipped else str(out)
    card = model_card(cfg, facts, export, evaluation, command or train_command(cfg, ck.step), ref)
    atomic_write_bytes(out / CARD, card.encode(), "card")
    say(f"exported {run.path} (step {ck.step}, {net}) to {out}: {CONFIG}, {EXPORT_WEIGHTS}, {CARD}, {SAMPLES}")
    return out


class _Gen(torch.nn.Module):
    """G(z, label) with plain tensor inputs (ONNX has no None): the label is dropped when unconditional."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z, label)


class _Den(torch.nn.Module):
    """A denoiser's network(x, t, label) with plain tensor inputs."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, t: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x, t, label)


def export_onnx(family: Family, path: Path, z_dim: int, shape: tuple[int, int, int]) -> dict[str, Any]:
    """Write the sampling network to ``path`` (ONNX, batch dimension dynamic) and check it against torch on
    4 seeded inputs with onnxruntime when installed. Returns {"inputs", "output", "max_abs_diff"}."""
    net = family.sampler().eval()
    g = torch.Generator().manual_seed(0)
    b = 4
    if isinstance(family, DenoisingFamily):
        names = ["x", "t"]
        example: list[torch.Tensor] = [torch.randn(b, *shape, generator=g), torch.rand(b, generator=g)]
    else:
        names = ["z"]
        example = [torch.randn(b, z_dim, generator=g)]
    if family.conditional:
        names.append("label")
        example.append(torch.arange(b) % max(1, family.num_classes))
    wrapped = (_Den(net) if isinstance(family, DenoisingFamily) else _Gen(net)).eval()
    with torch.no_grad():
        want = wrapped(*example)
    batch = torch.export.Dim("batch", min=1)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # the exporter's chatter
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped, tuple(example), str(path), input_names=names, output_names=["out"],
                dynamic_shapes=tuple({0: batch} for _ in names), dynamo=True, verbose=False,
            )  # fmt: skip
    except Exception as e:  # an exporter missing or refusing an operator: one line, not a traceback
        why = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"ONNX export failed ({why}): export without --onnx") from None
    out: dict[str, Any] = {"inputs": names, "output": "out", "max_abs_diff": None}
    try:
        import onnxruntime as ort
    except ImportError:
        return out
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, example)})[0]
    out["max_abs_diff"] = float((torch.from_numpy(got) - want).abs().max())
    return out


def _exported(run: RunDir) -> dict[str, Any]:
    return json.loads((run.path / CONFIG).read_text()).get("export", {})


def _evaluation(run_path: Path) -> dict[str, Any] | None:
    from .records.evals import read_eval

    try:
        return read_eval(run_path)
    except RunError:
        return None


def train_command(cfg: TrainConfig, step: int) -> str:
    """A `drawlab train` line that trains this config again (its preset, data, seed and the steps it reached)."""
    parts = ["drawlab train"]
    if cfg.preset:
        parts.append(f"--preset {cfg.preset}")
    else:
        parts.append(f"--model {cfg.model.name}")
    parts += [f"--data {cfg.data.spec}", f"--seed {cfg.seed}", f"--steps {step}"]
    return " ".join(parts)


def _licence(data_name: str) -> str:
    low = data_name.lower()
    for key, text in LICENCES.items():
        if key in low:
            return text
    return "the data's own licence, which its owner must state here (drawlab cannot know it)"


def _eval_rows(ev: dict[str, Any]) -> list[str]:
    from .records.evals import fmt

    rows = [
        "| metric (its name pins the protocol) | value | real-data reference | better |",
        "| --- | --- | --- | --- |",
    ]
    for name, e in ev.get("metrics", {}).items():
        rows.append(
            f"| `{name}` | {fmt(e.get('value'), e.get('spread'))} | {fmt(e.get('real'))} | {e.get('better', '')} |"
        )
    return rows


def model_card(
    cfg: TrainConfig,
    facts: dict[str, Any],
    export: dict[str, Any],
    ev: dict[str, Any] | None,
    command: str,
    folder: str,
) -> str:
    """The README.md of an export folder (markdown)."""
    shape = "x".join(str(v) for v in facts["shape"])
    secs = export.get("training_seconds")
    budget = f"{secs / 60:.1f} minutes of training" if isinstance(secs, (int, float)) else "training time unknown"
    precision = facts.get("precision", {})
    lines = [
        f"# drawlab {cfg.model.name} on {facts.get('data_name', '?')}",
        "",
        f"A {cfg.model.name} generator of {shape} images, {export['parameters']:,} parameters "
        f"({export['net']}, step {export['step']}), exported by drawlab {facts.get('drawlab_version', '?')}.",
        "",
        "![64 samples, seeds 0-63](samples.png)",
        "",
        "## Use",
        "",
        "```",
        f"drawlab sample {folder} --n 64 --out grid.png",
        f"drawlab serve {folder}",
        "```",
        "",
        "```python",
        "import drawlab",
        "",
        f'images = drawlab.load("{folder}").sample(16, seed=0)  # uint8; the same seed draws the same images',
        "```",
        "",
        "## Data",
        "",
        f"- {facts.get('data_name', '?')}: {facts.get('data_size', '?')} images, fingerprint "
        f"`{facts.get('data_fingerprint', '?')}`, {facts.get('num_classes', 0)} classes"
        + (" (conditional: `--label K`)" if facts.get("conditional") else ""),
        f"- licence: {_licence(str(facts.get('data_name', '')))}",
        "",
        "## Training",
        "",
        f"- `{command}`",
        f"- {budget}, {export['step']:,} steps, precision {precision.get('value', '?')}, "
        f"{facts.get('processes', 1)} process(es), torch {facts.get('torch_version', '?')}, on "
        f"{facts.get('machine', 'a machine not recorded')}; exported {export['exported']}",
        "- the whole configuration is config.json's `train` section",
        "",
        "## Evaluation",
        "",
    ]
    if ev:
        p = ev.get("protocol", {})
        lines += [
            f"`drawlab evaluate` at step {ev.get('step')}: {p.get('n', '?')} samples against {p.get('n', '?')} real "
            "images; the real-data reference is the same metric between two real sets (the floor).",
            "",
            *_eval_rows(ev),
        ]
    else:
        lines.append("Not evaluated: run `drawlab evaluate` on the training run before exporting to have it here.")
    lines += [
        "",
        "## Intended use and limits",
        "",
        "For learning, teaching and research on image generation: a small model trained for minutes on a CPU, "
        "not a production generator. It draws what its data holds, biases included, and only at "
        f"{shape}. The weights hold no code (safetensors); loading them runs nothing.",
        "",
    ]
    return "\n".join(lines)
