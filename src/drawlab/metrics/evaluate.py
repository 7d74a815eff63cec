"""`drawlab evaluate`: every metric of one run, each with its protocol and its real-data reference.

Protocol (also written into eval.json):

- n generated images from the run's checkpoint (seeded noise, labels balanced over the classes for
  conditional models) against real set A = n random training images; the *real-data reference*
  ("floor" for distances) is the same metric for real set B = n other random training images against A.
  When the dataset has fewer than 2n images, n becomes len // 2 (the name carries the n used).
- features: the dataset's own feature net (``features.py``): a classifier's penultimate layer for
  labelled data, an autoencoder's bottleneck for unlabelled folders.
- memorisation: see ``memorisation.py`` (reference 90% / held-out 10% of the training images).

Metric names carry the protocol: ``fid2.5k-mnist-5k-cnn@3fa9c1`` is FID from 2,500 samples in the features
of the classifier trained on mnist-5k, ``3fa9c1`` pinning that net's architecture version, training steps,
split and the data's fingerprint (``FeatureNet.protocol_id``): a number under another id is another protocol.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..data import ImageDataset, default_data_root, open_configured
from ..device import pick_device
from ..errors import ConfigError, DataError
from ..files import append_jsonl, atomic_write_json
from ..images import grid_array, save_png
from ..latent import balanced_labels, seeded_noise
from ..models import Family
from ..run import RunDir
from . import cas, coverage, frechet, inception, kid, memorisation, prdc, swd
from .features import FEATURE_DIM, FeatureNet, get_feature_net, real_images

EVAL_FORMAT = "drawlab-eval-1"
EVAL_JSON = "eval.json"
EVAL_DIR = "eval"  # eval/samples.png, eval/memorised.png
DEFAULT_N = 10_000
WARN_BELOW = 2_000
MEMO_MAX_FAKE = 5_000  # generated images checked for memorisation
MEMO_MAX_HELDOUT = 2_000
BOOTSTRAP = 50  # bootstrap resamples of both sets for the FID spread (10 were too noisy)


@dataclass(frozen=True)
class MetricKind:
    """One kind of metric: how it is named, read and compared."""

    key: str
    title: str
    better: str  # 'lower', 'higher' or 'closer' (to the real-data reference)
    spread: str  # what the ± is
    description: str


KINDS: dict[str, MetricKind] = {
    k.key: k
    for k in [
        MetricKind(
            "fid",
            "FID",
            "lower",
            "bootstrap std (50 resamples of both sets)",
            "Frechet distance between Gaussians fitted to generated and real features",
        ),
        MetricKind(
            "kid",
            "KID",
            "lower",
            "std over 50 subsets",
            "unbiased squared MMD, cubic polynomial kernel (Binkowski 2018), in the feature net's own units: "
            "comparable between runs under the same feature net only, never with Inception KID",
        ),
        MetricKind(
            "swd",
            "SWD",
            "lower",
            "std over 4 sets of 128 random directions (not the sampling spread: compare with the real-data reference)",
            "sliced Wasserstein distance between 7x7 Laplacian-pyramid patches, x1000 (Karras 2018), both sets "
            "normalised by the real set: a pixel-space distance with no trained net, which sees blur and "
            "colour casts that a feature net may not; 'levels' holds each pyramid level's value",
        ),
        MetricKind(
            "precision",
            "precision",
            "higher",
            "binomial standard error (the real set and its radii held fixed: "
            "the full sampling spread is 1.2-2.2x larger)",
            "share of generated images inside the real k=5 NN manifold (Kynkaanniemi 2019)",
        ),
        MetricKind(
            "recall",
            "recall",
            "higher",
            "binomial standard error (the real set and its radii held fixed: "
            "the full sampling spread is 1.2-2.2x larger)",
            "share of real images inside the generated k=5 NN manifold (Kynkaanniemi 2019)",
        ),
        MetricKind(
            "density",
            "density",
            "closer",
            "standard error of the mean (the real set and its radii held fixed)",
            "mean number of real k=5 NN balls holding a generated image, / k (Naeem 2020); 1 for matching sets",
        ),
        MetricKind(
            "coverage",
            "coverage",
            "higher",
            "binomial standard error (the real set and its radii held fixed: "
            "the full sampling spread is 1.2-2.2x larger)",
            "share of real k=5 NN balls holding at least one generated image (Naeem 2020)",
        ),
        MetricKind("modes", "modes", "higher", "none", "classes receiving >= 2% of the samples (classifier arg-max)"),
        MetricKind(
            "class-kl", "class KL", "lower", "none", "KL(real class distribution || generated), nats, add-one smoothed"
        ),
        MetricKind(
            "cscore",
            "classifier score",
            "closer",
            "std over 10 splits",
            "exp(E KL(p(y|x) || p(y))), an Inception-Score analogue in the dataset's classifier: mean of 10 splits",
        ),
        MetricKind(
            "cond-acc",
            "conditional accuracy",
            "higher",
            "binomial standard error",
            "share of samples drawn for label K that the classifier calls K; real: its held-out accuracy",
        ),
        MetricKind(
            "cas",
            "classification accuracy score",
            "higher",
            "binomial standard error",
            "accuracy on real held-out images of a classifier trained on generated images with their labels "
            "(Ravuri & Vinyals 2019); real: the same classifier trained on as many real images",
        ),
        MetricKind(
            "memorised-pixels",
            "memorised (pixels)",
            "lower",
            "binomial standard error",
            "share of samples nearer to a training image (pixel L2) than the closest 1% of held-out real images",
        ),
        MetricKind(
            "memorised",
            "memorised (features)",
            "lower",
            "binomial standard error",
            "the same in the feature net's space",
        ),
        MetricKind(
            "fid-inception",
            "FID (Inception-v3)",
            "lower",
            "none",
            "the standard FID in Inception-v3 pool features (torch-fidelity, local weights)",
        ),
    ]
}


def n_tag(n: int) -> str:
    """10000 -> '10k', 2500 -> '2.5k', 300 -> '300'."""
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def metric_name(kind: str, n: int, net: str) -> str:
    if kind == "fid-inception":
        return f"fid{n_tag(n)}-{inception.NET_NAME}"
    if kind == "memorised-pixels":
        return f"memorised-pixels{n_tag(n)}"
    if kind == "swd":
        return f"swd{n_tag(n)}-{swd.PROTOCOL}"
    return f"{kind}{n_tag(n)}-{net}"


def kind_of(name: str) -> MetricKind | None:
    """The MetricKind of a full metric name (longest matching key first)."""
    if name.endswith("-" + inception.NET_NAME):
        return KINDS["fid-inception"]
    for key in sorted(KINDS, key=len, reverse=True):
        if name.startswith(key) and (len(name) == len(key) or name[len(key)].isdigit()):
            return KINDS[key]
    return None


# -- samples -------------------------------------------------------------------------------------


def generate(family: Family, z_dim: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images (n, C, H, W) on the CPU, requested labels (n,)) from seeded noise, classes balanced."""
    y = balanced_labels(n, family.num_classes)
    return family.draw(seeded_noise(n, z_dim, seed), y), y


# -- the whole evaluation ------------------------------------------------------------------------


@dataclass
class EvalResult:
    record: dict[str, Any]  # what eval.json holds
    path: Path  # eval.json


def _entry(
    kind: str, value: float, spread: float | None, real: float | None, real_spread: float | None, **extra: Any
) -> dict[str, Any]:
    k = KINDS[kind]

    def clean(v):
        return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)

    return {
        "kind": kind,
        "value": clean(value),
        "spread": clean(spread),
        "real": clean(real),
        "real_spread": clean(real_spread),
        "better": k.better,
        "spread_is": k.spread,
        "description": k.description,
        **extra,
    }


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
) -> EvalResult:
    """Evaluate a run: write RUN/eval.json (and ``json_out``), RUN/eval/*.png, and append an
    ``"eval": true`` record to RUN/metrics.jsonl. Returns the record."""
    say = echo or (lambda s: print(s, file=sys.stderr))
    t0 = time.perf_counter()
    run = RunDir(run_dir)
    dev = pick_device(device)
    family, cfg, facts, ck = run.open_family(checkpoint, dev)
    root = Path(data_root or cfg.data.root or default_data_root()).expanduser()
    ds = open_configured(cfg.data, str(root))
    notes: list[str] = []
    if facts.get("data_fingerprint") not in (None, ds.fingerprint):
        notes.append(
            f"the data of {ds.name} changed since the run was trained (fingerprint "
            f"{facts.get('data_fingerprint')} then, {ds.fingerprint} now)"
        )
        say(f"drawlab: warning: {notes[-1]}")
    for h in facts.get("data_history", []):
        notes.append(
            f"until step {h.get('until_step')} this run learnt from other data ({h.get('data_name')}, "
            f"{h.get('data_size')} images, fingerprint {h.get('data_fingerprint')})"
        )
        say(f"drawlab: warning: {notes[-1]}")
    if tuple(ds.shape) != tuple(facts["shape"]):
        raise DataError(f"the run draws {tuple(facts['shape'])} images but its data now gives {ds.shape}")
    n_eff, n_notes = plan_n(n, len(ds), FEATURE_DIM)
    notes += n_notes
    for note in n_notes:
        say(f"note: {note}")

    fnet = get_feature_net(ds, root, dev, steps=feature_steps, echo=say)

    # real sets A (reference) and B (floor), disjoint
    g = torch.Generator().manual_seed(10_000 + seed)
    perm = torch.randperm(len(ds), generator=g)
    idx_a, idx_b = perm[:n_eff].sort().values, perm[n_eff : 2 * n_eff].sort().values
    real_a, real_b = real_images(ds, idx_a), real_images(ds, idx_b)

    say(f"drawing {n_eff} images from {run.path} (step {ck.step}) ...")
    fake, req = generate(family, cfg.model.z_dim, n_eff, seed)
    eval_dir = run.path / EVAL_DIR
    files = {"samples": str(Path(EVAL_DIR) / "samples.png")}
    nrow = 10 if family.conditional and family.num_classes <= 20 else 8
    save_png(grid_array(fake[: nrow * 8], nrow=nrow), eval_dir / "samples.png")

    say("features and metrics ...")
    f_fake, f_a, f_b = fnet.features(fake), fnet.features(real_a), fnet.features(real_b)
    metrics: dict[str, dict[str, Any]] = {}
    tag = fnet.tag

    def put(kind: str, entry: dict[str, Any]) -> None:
        metrics[metric_name(kind, n_eff, tag)] = entry

    v, s = frechet.fid_bootstrap(f_fake, f_a, BOOTSTRAP, seed)
    rv, rs = frechet.fid_bootstrap(f_b, f_a, BOOTSTRAP, seed)
    put("fid", _entry("fid", v, s, rv, rs))
    v, s = kid.kid(f_fake, f_a, seed=seed)
    rv, rs = kid.kid(f_b, f_a, seed=seed)
    put("kid", _entry("kid", v, s, rv, rs))
    sf, sr = swd.swd(fake, real_a, seed), swd.swd(real_b, real_a, seed)
    put(
        "swd",
        _entry(
            "swd",
            sf.value,
            sf.spread,
            sr.value,
            sr.spread,
            levels={str(k): round(v, 3) for k, v in sf.levels.items()},
            real_levels={str(k): round(v, 3) for k, v in sr.levels.items()},
        ),
    )
    pf, pr = prdc.prdc(f_a, f_fake), prdc.prdc(f_a, f_b)
    for key in ("precision", "recall", "density", "coverage"):
        put(
            key,
            _entry(key, getattr(pf, key), getattr(pf, key + "_se"), getattr(pr, key), getattr(pr, key + "_se"), k=5),
        )

    if fnet.is_classifier:
        p_fake, p_a, p_b = fnet.probs(fake), fnet.probs(real_a), fnet.probs(real_b)
        hist = coverage.class_histogram(p_fake)
        put(
            "modes",
            _entry(
                "modes",
                coverage.modes_covered(p_fake),
                None,
                coverage.modes_covered(p_b),
                None,
                classes=fnet.num_classes,
                histogram=[int(c) for c in hist],
                real_histogram=[int(c) for c in coverage.class_histogram(p_b)],
            ),
        )
        put("class-kl", _entry("class-kl", coverage.class_kl(p_a, p_fake), None, coverage.class_kl(p_a, p_b), None))
        v, s = coverage.classifier_score(p_fake)
        rv, rs = coverage.classifier_score(p_b)
        put("cscore", _entry("cscore", v, s, rv, rs))
        if family.conditional and family.num_classes == fnet.num_classes:
            acc, se, per = coverage.conditional_accuracy(p_fake, req.numpy())
            put("cond-acc", _entry("cond-acc", acc, se, fnet.accuracy, None, per_class=per))
            say("classification accuracy score (two classifiers) ...")
            v, s, rv, rs = cas.classification_accuracy_score(
                fake,
                req,
                real_a,
                ds.labels[idx_a],
                real_b,
                ds.labels[idx_b],
                ds,
                dev,
                seed,
                feature_steps,
                cache_dir=root / "features",
            )
            put("cas", _entry("cas", v, s, rv, rs))

    if inception_weights is not None:
        say("Inception-v3 FID (torch-fidelity) ...")
        v = inception.inception_fid(fake, real_a, inception_weights, dev)
        rv = inception.inception_fid(real_b, real_a, inception_weights, dev)
        metrics[metric_name("fid-inception", n_eff, tag)] = _entry("fid-inception", v, None, rv, None)

    say("memorisation ...")
    memo_info, memo_files = _memorisation(ds, fnet, fake, seed, n_eff, tag, metrics, eval_dir)
    files.update(memo_files)

    record: dict[str, Any] = {
        "format": EVAL_FORMAT,
        "run": str(run.path.absolute()),
        "model": family.name,
        "conditional": family.conditional,
        "step": ck.step,
        "checkpoint": ck.weights.name,
        "data_name": ds.name,
        "data_fingerprint": ds.fingerprint,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "protocol": {
            "n": n_eff,
            "n_requested": n,
            "seed": seed,
            "generated": (
                f"{n_eff} images from seeded noise (seed {seed})"
                + (", labels balanced over the classes" if family.conditional else "")
            ),
            "reference": (
                f"real set A: {n_eff} random training images; real-data reference ('real'): the same "
                f"metric for real set B ({n_eff} other random training images, disjoint from A) "
                "against A; split seed " + str(10_000 + seed) + ". A and B are mostly images the "
                "feature net trained on (samples are new to it): measured, a floor on never-seen images "
                "is 1.0-1.2x this one (benchmarks/floor_unseen.py)"
            ),
            "feature_net": {
                "name": fnet.name,
                "tag": fnet.tag,
                "kind": fnet.kind,
                "dim": fnet.dim,
                **{k: v for k, v in fnet.info.items() if k not in ("name", "kind", "dim")},
            },
            "memorisation": memo_info,
            "drawlab_version": __version__,
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
            "python": platform.python_version(),
            "device": str(dev),
        },
        "metrics": metrics,
        "notes": notes,
        "files": files,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    path = run.path / EVAL_JSON
    atomic_write_json(path, record)
    if json_out is not None:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out, record)
    if log:
        append_metrics(run, record)
    return EvalResult(record, path)


def _memorisation(
    ds: ImageDataset,
    fnet: FeatureNet,
    fake: torch.Tensor,
    seed: int,
    n_eff: int,
    tag: str,
    metrics: dict[str, dict[str, Any]],
    eval_dir: Path,
):
    g = torch.Generator().manual_seed(20_000 + seed)
    perm = torch.randperm(len(ds), generator=g)
    n_hold = min(MEMO_MAX_HELDOUT, max(1, len(ds) // 10))
    hold, ref = perm[:n_hold].sort().values, perm[n_hold:].sort().values
    img_hold, img_ref = real_images(ds, hold), real_images(ds, ref)
    m = min(MEMO_MAX_FAKE, len(fake))
    target = memorisation.contrast(img_ref)
    s_ref, s_hold, s_fake = (memorisation.standardise(x, *target) for x in (img_ref, img_hold, fake[:m]))
    mp = memorisation.memorisation(memorisation.pixels(s_ref), memorisation.pixels(s_hold), memorisation.pixels(s_fake))
    mf = memorisation.memorisation(fnet.features(s_ref), fnet.features(s_hold), fnet.features(s_fake))
    for kind, res in (("memorised-pixels", mp), ("memorised", mf)):
        metrics[metric_name(kind, m, tag)] = _entry(
            kind,
            res.share,
            res.share_se,
            res.heldout_share,
            None,
            threshold=res.threshold,
            ratio_threshold=res.ratio_threshold,
            n_generated=m,
        )
    info = {
        "reference_images": len(ref),
        "heldout_images": int(n_hold),
        "generated_images": m,
        "standardised_to": {"mean": round(target[0], 2), "std": round(target[1], 2)},
        "percentile": memorisation.PERCENTILE,
        "ratio_percentile": memorisation.RATIO_PERCENTILE,
        "split_seed": 20_000 + seed,
        "definition": (
            "the training images are split at random into a reference part and a held-out part; "
            "a generated image is memorised when its nearest reference image is at most as far as "
            f"the {memorisation.PERCENTILE:g}st percentile of the held-out images' nearest-reference "
            "distances AND its nearest/second-nearest distance ratio is at most the "
            f"{memorisation.RATIO_PERCENTILE:g}th percentile of the held-out ratios (so that images "
            "near everything, like class averages, do not count); every image is first standardised "
            "to the reference set's average pixel mean and contrast (so a copy counts at any "
            "brightness and a contrast-less blob is near nothing); pixels: L2 of values in [0,1]; "
            "features: L2 in the feature net; the thresholds come from one half of the held-out "
            "images and 'real' is the share flagged in the other half"
        ),
    }
    worst = memorisation.worst_offenders(mp, k=min(10, m))
    pairs = torch.cat([fake[torch.as_tensor(worst)], img_ref[torch.as_tensor(mp.index[worst])]])
    save_png(grid_array(pairs, nrow=len(worst)), eval_dir / "memorised.png")
    return info, {"memorised": str(Path(EVAL_DIR) / "memorised.png")}


def append_metrics(run: RunDir, record: dict[str, Any]) -> None:
    """One ``{"step": S, "eval": true, NAME: value, NAME_real: reference, ...}`` line in metrics.jsonl."""
    line: dict[str, Any] = {
        "step": record["step"],
        "eval": True,
        "time": time.time(),
        "n": record["protocol"]["n"],
        "feature_net": record["protocol"]["feature_net"]["name"],
    }
    for name, e in record["metrics"].items():
        line[name] = e["value"]
        line[f"{name}_real"] = e["real"]
    append_jsonl(run.metrics, line)
    _log_tensorboard(run, record)


def _log_tensorboard(run: RunDir, record: dict[str, Any]) -> None:
    """``eval/NAME`` scalars at the checkpoint's step in the run's TensorBoard folder."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency; a broken install only loses the curves
        return
    with SummaryWriter(str(run.tensorboard)) as tb:
        for name, e in record["metrics"].items():
            if isinstance(e.get("value"), (int, float)):
                tb.add_scalar(f"eval/{name}", e["value"], record["step"])


def read_eval(run_dir: str | Path) -> dict[str, Any]:
    """A run's eval.json; RunError with the command to run when there is none."""
    from ..errors import RunError

    run = RunDir(run_dir)
    p = run.path / EVAL_JSON
    if not run.path.is_dir():
        raise RunError(f"run directory {run.path} does not exist")
    if not p.is_file():
        raise RunError(f"{run.path} has no {EVAL_JSON}: run drawlab evaluate {run.path} first")
    try:
        d = json.loads(p.read_text())
        if (
            not isinstance(d, dict)
            or d.get("format") != EVAL_FORMAT
            or not isinstance(d.get("metrics"), dict)
            or not isinstance(d.get("protocol"), dict)
            or not all(isinstance(e, dict) and "value" in e for e in d["metrics"].values())
        ):
            raise ValueError("not a drawlab evaluation")
        return d
    except ValueError as e:
        raise RunError(f"{p} is damaged ({e}): run drawlab evaluate {run.path} again") from None
