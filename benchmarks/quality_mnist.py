"""Score MNIST samples with an independent classifier: a stand-in judge until `drawlab evaluate`.

    python benchmarks/quality_mnist.py samples.npz [more.npz ...]

Trains a small CNN on the official MNIST test split (../shared/data/mnist, 9,000 images; 1,000
held out for its accuracy), then reports for each .npz written by `drawlab sample --out X.npz`:
mean classifier confidence, the share of samples with confidence > 0.9, class coverage
(normalised entropy of the predicted-class histogram, 1.0 = uniform; smallest class share),
conditional accuracy when the file has labels, and a Frechet distance in the classifier's
penultimate features against 2,000 real test digits (`fd2k-mnist-testcnn`), beside the same
distance between two disjoint real sets (the floor).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def read_idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def to_float(u8: np.ndarray) -> torch.Tensor:
    return torch.tensor(u8).float().div(127.5).sub(1).unsqueeze(1)


def train_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 6) -> nn.Sequential:
    torch.manual_seed(0)
    clf = nn.Sequential(
        nn.Conv2d(1, 32, 3, 1, 1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, 1, 1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 49, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(clf.parameters(), 1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 128):
            b = perm[i : i + 128]
            s = torch.randint(-2, 3, (2,), generator=g)
            xb = torch.roll(x[b], (int(s[0]), int(s[1])), (2, 3))
            loss = F.cross_entropy(clf(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return clf.eval()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@torch.no_grad()
def score(clf: nn.Sequential, x: torch.Tensor, real_feats: np.ndarray, labels: np.ndarray | None) -> dict:
    feats = torch.cat([clf[:-1](x[i : i + 1000]) for i in range(0, len(x), 1000)])
    p = F.softmax(clf[-1](feats), 1)
    conf, pred = p.max(1)
    hist = torch.bincount(pred, minlength=10).float() / len(x)
    h = hist.clamp_min(1e-12)
    out = {
        "n": len(x),
        "confidence": conf.mean().item(),
        "conf>0.9": (conf > 0.9).float().mean().item(),
        "class_entropy": (-(h * h.log()).sum() / np.log(10)).item(),
        "min_class_share": hist.min().item(),
        "fd2k-mnist-testcnn": frechet(feats[:2000].double().numpy(), real_feats),
    }
    if labels is not None:
        out["cond_acc"] = (pred.numpy() == labels).mean().item()
    return out


def main(paths: list[str]) -> int:
    if not DATA.is_dir():
        print(f"needs the MNIST test split at {DATA} (../shared/data/mnist)", file=sys.stderr)
        return 2
    x = to_float(read_idx(DATA / "t10k-images-idx3-ubyte.gz"))
    y = torch.tensor(read_idx(DATA / "t10k-labels-idx1-ubyte.gz")).long()
    clf = train_classifier(x[:9000], y[:9000])
    with torch.no_grad():
        acc = (clf(x[9000:]).argmax(1) == y[9000:]).float().mean().item()
        real_feats = clf[:-1](x[:2000]).double().numpy()
    print(f"classifier held-out accuracy {acc:.4f}")
    floor = score(clf, x[2000:4000], real_feats, y[2000:4000].numpy())
    print("real digits (floor): " + "  ".join(f"{k}={v:.4g}" for k, v in floor.items()))
    for p in paths:
        d = np.load(p)
        imgs = torch.tensor(d["images"]).float().div(127.5).sub(1)
        imgs = imgs.unsqueeze(1) if imgs.ndim == 3 else imgs.permute(0, 3, 1, 2)[:, :1]
        r = score(clf, imgs, real_feats, d["labels"] if "labels" in d else None)
        print(f"{p}: " + "  ".join(f"{k}={v:.4g}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
