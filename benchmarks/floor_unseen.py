"""Does it matter that the real-data floor uses images the feature net trained on?

    python benchmarks/floor_unseen.py [--repeats 10]

`drawlab evaluate`'s floor compares real set B with real set A, both drawn from the training images, and
the feature net learnt ~90% of them; generated images are unseen. A net may map images it learnt
closer together than new ones, which would make the floor too low. This measures the floor twice with
the same sizes: B = images the net trained on, and B = its held-out 10% (never seen), against the same A
(seen), over several random draws, for mnist-5k (classifier features) and the CelebA faces (autoencoder
features), at the largest n the held-out split allows. Prints the median of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from drawlab.data import open_dataset
from drawlab.device import cpu_model
from drawlab.metrics import frechet, prdc
from drawlab.metrics.features import HOLDOUT_SHARE, get_feature_net, real_images

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba-10k"


def heldout_split(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, trained-on) indices of the feature net, as features._train draws them (n <= 60,000)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_hold = max(1, int(round(HOLDOUT_SHARE * n)))
    return perm[:n_hold], perm[n_hold:]


def measure(spec: str, repeats: int, **kw) -> dict[str, list[float]]:
    ds = open_dataset(spec, **kw)
    fnet = get_feature_net(ds, echo=print)
    hold, seen = heldout_split(len(ds))
    n = len(hold)
    feats = fnet.features(real_images(ds))
    out: dict[str, list[float]] = {
        k: [] for k in ("fid seen", "fid unseen", "recall seen", "recall unseen", "coverage seen", "coverage unseen")
    }
    for r in range(repeats):
        g = torch.Generator().manual_seed(r)
        p = seen[torch.randperm(len(seen), generator=g)]
        a, b_seen = p[:n], p[n : 2 * n]
        b_unseen = hold
        for name, b in (("seen", b_seen), ("unseen", b_unseen)):
            out[f"fid {name}"].append(frechet.fid(feats[b], feats[a]))
            pr = prdc.prdc(feats[a], feats[b])
            out[f"recall {name}"].append(pr.recall)
            out[f"coverage {name}"].append(pr.coverage)
    print(f"\n{spec} ({fnet.tag}), n = {n} per set, {repeats} draws of A (and of B seen):")
    for k, v in out.items():
        print(f"  {k:16s} median {statistics.median(v):.3f}  (min {min(v):.3f}, max {max(v):.3f})")
    print(f"  FID unseen / seen: {statistics.median(out['fid unseen']) / statistics.median(out['fid seen']):.2f}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--faces", type=Path, default=FACES, help="the CelebA folder (default ../shared/data/celeba-10k)")
    ap.add_argument("--skip-mnist", action="store_true")
    a = ap.parse_args(argv)
    print(f"# floor on seen vs unseen real images, {cpu_model()}, {time.strftime('%Y-%m-%d %H:%M')}")
    if not a.skip_mnist:
        measure("mnist-5k", a.repeats)
    if a.faces.is_dir():
        measure(f"folder:{a.faces}", a.repeats, size=64, channels=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
