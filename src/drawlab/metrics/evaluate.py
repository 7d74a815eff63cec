"""`drawlab evaluate`: every registered metric of one run, each with its protocol and its real-data reference.

Protocol (also written into eval.json):

- n generated images from the run's checkpoint (seeded noise, labels balanced over the classes for
  conditional models) against real set A = n random training images; the *real-data reference*
  ("floor" for distances) is the same metric for real set B = n other random training images against A
  (``inputs.split_real``). When the dataset has fewer than 2n images, n becomes len // 2 (the name carries it).
- features: the dataset's own feature net (``features.py``): a classifier's penultimate layer for
  labelled data, an autoencoder's bottleneck for unlabelled folders.
- the metrics: every one in the registry (``registry.py``) whose needs this evaluation offers.

Metric names carry the protocol: ``fid2.5k-mnist-5k-cnn@3fa9c1`` is FID from 2,500 samples in the features
of the classifier trained on mnist-5k, ``3fa9c1`` pinning that net's architecture version, training steps,
split and the data's fingerprint (``FeatureNet.protocol_id``): a number under another id is another protocol.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import ImageDataset, run_data
from ..device import pick_device
from ..errors import ConfigError, DataError
from ..images import grid_array, save_png
from ..latent import balanced_labels, seeded_noise
from ..models import Family
from ..records import verdicts
from ..records.evals import EVAL_DIR, write_eval
from ..run import RunDir
from . import frechet, recording, verdict
from .features import FEATURE_DIM, get_feature_net
from .inputs import Bench, Context, Training, generated_set, real_sets
from .registry import REGISTRY

DEFAULT_N = 10_000
WARN_BELOW = 2_000


@dataclass
class EvalResult:
    record: dict[str, Any]  # what eval.json holds
    path: Path  # eval.json


def generate(family: Family, z_dim: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images (n, C, H, W) on the CPU, requested labels (n,)) from seeded noise, classes balanced."""
    y = balanced_labels(n, family.num_classes)
    return family.draw(seeded_noise(n, z_dim, seed), y), y


def plan_n(n: int, data_len: int, dim: int) -> tuple[int, list[str]]:
    """The n actually used and notes about it; errors when no valid FID is possible."""
    if n < 1:
        raise ConfigError("--n must be at least 1")
    frechet.check_count(n, dim)
    notes = []
    n_eff = n
    if 2 * n > data_len:
        n_eff = data_len // 2
        notes.append(
            f"the dataset has {data_len} images, too few for two disjoint real sets of {n}: "
            f"n = {n_eff} (len // 2) for generated and both real sets"
        )
        if n_eff <= dim + 1:
            raise DataError(
                f"the dataset has only {data_len} images: FID in {dim}-dimensional features needs two "
                f"disjoint real sets of more than {dim + 1}, so at least {2 * (dim + 2)} images"
            )
    if n_eff < WARN_BELOW:
        notes.append(
            f"n = {n_eff} < {WARN_BELOW}: FID and KID are noisy and FID is biased upwards; "
            "compare runs only at the same n"
        )
    return n_eff, notes


def data_notes(ds: ImageDataset, facts: dict[str, Any], say: Callable[[str], None]) -> list[str]:
    """Warnings (said, and returned for eval.json) when the run learnt from other data than ``ds`` now holds;
    DataError when the images have another shape."""
    notes: list[str] = []
    if facts.get("data_fingerprint") not in (None, ds.fingerprint):
        notes.append(
            f"the data of {ds.name} changed since the run was trained (fingerprint "
            f"{facts.get('data_fingerprint')} then, {ds.fingerprint} now)"
        )
    for h in facts.get("data_history", []):
        notes.append(
            f"until step {h.get('until_step')} this run learnt from other data ({h.get('data_name')}, "
            f"{h.get('data_size')} images, fingerprint {h.get('data_fingerprint')})"
        )
    for note in notes:
        say(f"drawlab: warning: {note}")
    if tuple(ds.shape) != tuple(facts["shape"]):
        raise DataError(f"the run draws {tuple(facts['shape'])} images but its data now gives {ds.shape}")
    return notes


def save_samples(fake: torch.Tensor, family: Family, eval_dir: Path) -> str:
    """A grid of the first samples (a row per class for small conditional models); its path in the run."""
    nrow = 10 if family.conditional and family.num_classes <= 20 else 8
    save_png(grid_array(fake[: nrow * 8], nrow=nrow), eval_dir / "samples.png")
    return str(Path(eval_dir.name) / "samples.png")


def record_verdicts(run: RunDir, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """What this evaluation finds wrong (``verdict.py``), added to the run's verdicts (once per kind and
    step, so evaluating again does not repeat it); as eval.json's "verdicts"."""
    found = verdict.not_learnt(rec)
    if found is None:
        return []
    path = run.monitor / "verdicts.jsonl"
    if not any(v.kind is found.kind and v.step == found.step for v in verdicts.read(path)):
        verdicts.record(path, found)
    return [found.to_dict()]


def evaluate(
    run_dir: str | Path,
    n: int = DEFAULT_N,
    checkpoint: str | int | None = None,
    device: str = "cpu",
    seed: int = 0,
    json_out: str | Path | None = None,
    data_root: str | Path | None = None,
    feature_steps: int | None = None,
    echo: Callable[[str], None] | None = None,
    log: bool = True,
    inception_weights: str | Path | None = None,
    sampling: dict[str, Any] | None = None,
) -> EvalResult:
    """Evaluate a run: write RUN/eval.json (and ``json_out``), RUN/eval/*.png, and append an
    ``"eval": true`` record to RUN/metrics.jsonl. Returns the record."""
    say = echo or (lambda s: print(s, file=sys.stderr))
    t0 = time.perf_counter()
    run = RunDir(run_dir)
    run.writable("evaluate's eval.json and pictures", f"export it first (drawlab export {run_dir} DIR), evaluate DIR")
    dev = pick_device(device)
    family, cfg, facts, ck = run.open_family(checkpoint, dev)
    if sampling:  # the denoisers: steps, guidance, sampler (``Family.set_sampling``); the record says which
        family.set_sampling(**sampling)
    ds, root = run_data(cfg.data, data_root)
    notes = data_notes(ds, facts, say)
    n_eff, n_notes = plan_n(n, len(ds), FEATURE_DIM)
    notes += n_notes
    for note in n_notes:
        say(f"note: {note}")

    fnet = get_feature_net(ds, root, dev, steps=feature_steps, echo=say)
    real_a, real_b = real_sets(ds, fnet, n_eff, seed)
    say(f"drawing {n_eff} images from {run.path} (step {ck.step}) ...")
    t_draw = time.perf_counter()
    fake, req = generate(family, cfg.model.z_dim, n_eff, seed)
    t_draw = time.perf_counter() - t_draw
    eval_dir = run.path / EVAL_DIR
    files = {"samples": save_samples(fake, family, eval_dir)}

    say("features and metrics ...")
    weights = None if inception_weights is None else Path(inception_weights)
    ctx = Context(fnet, dev, seed, True, ds, Training(feature_steps, root / "features"), weights, eval_dir)
    results = Bench(ctx, real_a, real_b).run(REGISTRY.values(), generated_set(fake, req, fnet, family), say)

    p = recording.Protocol(n_eff, n, seed, fnet, dev, family.sampling(), family.sampling_tag(), t_draw)
    rec = recording.record(run, family, ck, ds, p, results, notes, files, time.perf_counter() - t0)
    rec["verdicts"] = record_verdicts(run, rec)
    path = write_eval(run.path, rec, json_out)
    if log:
        recording.append_metrics(run, rec)
    return EvalResult(rec, path)
