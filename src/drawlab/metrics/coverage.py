"""Mode coverage from a classifier trained on the real data.

- class histogram of the generated images (the classifier's arg-max),
- modes: the number of classes that get at least 2% of the samples,
- class KL: KL(real class distribution || generated class distribution), both as the classifier sees
  them, with add-one (Laplace) smoothing so that a missing class gives a large finite number,
- classifier score, an Inception-Score analogue: exp(E_x KL(p(y|x) || p(y))), between 1 (one class,
  or no confident prediction) and the number of classes (confident and balanced),
- conditional accuracy: the share of samples drawn for label K that the classifier calls K.
"""

from __future__ import annotations

import numpy as np

from .inputs import Inputs, Sample
from .registry import Metric, Need, Value, register

MODE_SHARE = 0.02


def class_histogram(probs: np.ndarray) -> np.ndarray:
    """Counts per class of the arg-max predictions, int (K,)."""
    return np.bincount(np.asarray(probs).argmax(1), minlength=probs.shape[1])


def modes_covered(probs: np.ndarray, share: float = MODE_SHARE) -> int:
    """How many classes receive at least ``share`` of the samples."""
    h = class_histogram(probs)
    return int((h >= share * h.sum()).sum())


def class_kl(real_probs: np.ndarray, fake_probs: np.ndarray) -> float:
    """KL(p_real || p_fake) of the arg-max class distributions, add-one smoothed, in nats."""
    p = class_histogram(real_probs) + 1.0
    q = class_histogram(fake_probs) + 1.0
    p, q = p / p.sum(), q / q.sum()
    return float((p * np.log(p / q)).sum())


def classifier_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, standard deviation) of exp(E KL(p(y|x) || p(y))) over ``splits`` equal parts of the samples:
    the usual Inception-Score protocol (Salimans et al. 2016), so the value and its ± describe the same
    estimate (the score of all samples at once with the splits' spread beside it overstated the ± ~3x)."""
    probs = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)

    def score(p: np.ndarray) -> float:
        py = p.mean(0, keepdims=True)
        return float(np.exp((p * (np.log(p) - np.log(py))).sum(1).mean()))

    parts = [p for p in np.array_split(probs, min(splits, len(probs))) if len(p)]
    scores = [score(p) for p in parts]
    spread = float(np.std(scores, ddof=1)) if len(parts) > 1 else float("nan")
    return float(np.mean(scores)), spread


def conditional_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float, list[float]]:
    """(share of samples classified as their requested label, its standard error, per-class shares)."""
    labels = np.asarray(labels)
    hit = np.asarray(probs).argmax(1) == labels
    acc = float(hit.mean())
    per = [float(hit[labels == k].mean()) if (labels == k).any() else float("nan") for k in range(probs.shape[1])]
    return acc, float(np.sqrt(acc * (1 - acc) / len(hit))), per


_PROBS = frozenset({Need.CLASSIFIER})


def _modes_of(x: Sample, ref: Sample, inp: Inputs) -> tuple[int, np.ndarray]:
    return modes_covered(x.probs), class_histogram(x.probs)


def _modes(inp: Inputs) -> Value:
    (v, h), (rv, rh) = inp.against_a(_modes_of)
    extra = {"classes": inp.classes, "histogram": [int(c) for c in h], "real_histogram": [int(c) for c in rh]}
    return Value(v, None, rv, None, extra=extra)


def _kl_of(x: Sample, ref: Sample, inp: Inputs) -> float:
    return class_kl(ref.probs, x.probs)


def _kl(inp: Inputs) -> Value:
    v, rv = inp.against_a(_kl_of)
    return Value(v, None, rv, None)


def _score_of(x: Sample, ref: Sample, inp: Inputs) -> tuple[float, float]:
    return classifier_score(x.probs)


def _score(inp: Inputs) -> Value:
    (v, s), (rv, rs) = inp.against_a(_score_of)
    return Value(v, s, rv, rs)


def _cond_acc(inp: Inputs) -> Value:
    acc, se, per = conditional_accuracy(inp.generated.probs, inp.generated.labels.numpy())
    return Value(acc, se, inp.classifier_accuracy, None, extra={"per_class": per})


MODES = register(
    Metric(
        key="modes",
        title="modes",
        better="higher",
        spread="none",
        description=f"classes receiving >= {MODE_SHARE:.0%} of the samples (classifier arg-max)",
        needs=_PROBS,
        compute=_modes,
        floor=True,
        order=80,
        probe=True,
    )
)
CLASS_KL = register(
    Metric(
        key="class-kl",
        title="class KL",
        better="lower",
        spread="none",
        description="KL(real class distribution || generated), nats, add-one smoothed",
        needs=_PROBS,
        compute=_kl,
        floor=True,
        order=90,
    )
)
CSCORE = register(
    Metric(
        key="cscore",
        title="classifier score",
        better="closer",
        spread="std over 10 splits",
        description="exp(E KL(p(y|x) || p(y))), an Inception-Score analogue in the dataset's classifier: mean of 10 splits",
        needs=_PROBS,
        compute=_score,
        floor=True,
        order=100,
    )
)
COND_ACC = register(
    Metric(
        key="cond-acc",
        title="conditional accuracy",
        better="higher",
        spread="binomial standard error",
        description="share of samples drawn for label K that the classifier calls K; real: its held-out accuracy",
        needs=frozenset({Need.CLASSIFIER, Need.LABELS}),
        compute=_cond_acc,
        floor=False,
        order=110,
        probe=True,
    )
)
