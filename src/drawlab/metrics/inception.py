"""The standard FID in Inception-v3 features, through torch-fidelity, from weights on local disk.

Inception features are a poor judge of 28x28 digits, but they make numbers comparable with the
literature. drawlab never downloads the weights: give the file that torch-fidelity uses
(`pt_inception-2015-12-05-*.pth`) with `drawlab evaluate RUN --inception-weights PATH`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from ..errors import ConfigError
from .inputs import Inputs, Sample
from .registry import Metric, Need, Value, register

NET_NAME = "inception-v3"


class _UInt8Images(Dataset):
    """uint8 (N, C, H, W) -> items (3, H, W) uint8, grey repeated to RGB, as torch-fidelity expects."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = self.images[i]
        return x.expand(3, -1, -1).contiguous() if x.shape[0] == 1 else x


def check_weights(path: str | Path) -> Path:
    """The weights file, or a one-line error saying what is missing."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(
            f"--inception-weights {p}: no such file (give torch-fidelity's "
            "pt_inception-2015-12-05 .pth weights, downloaded once elsewhere)"
        )
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise ConfigError("--inception-weights needs the torch-fidelity package: pip install torch-fidelity") from None
    return p


def inception_fid(fake: torch.Tensor, real: torch.Tensor, weights: str | Path, device: torch.device) -> float:
    """FID between two uint8 (N, C, H, W) image sets in Inception-v3 pool features (torch-fidelity)."""
    import torch_fidelity

    out = torch_fidelity.calculate_metrics(
        input1=_UInt8Images(fake),
        input2=_UInt8Images(real),
        fid=True,
        verbose=False,
        cuda=device.type == "cuda",
        batch_size=64,
        save_cpu_ram=True,  # no DataLoader workers: the images are already in memory
        feature_extractor_weights_path=str(check_weights(weights)),
    )
    return float(out["frechet_inception_distance"])


def _fid_of(x: Sample, ref: Sample, inp: Inputs) -> float:
    return inception_fid(x.images, ref.images, inp.inception_weights, inp.device)


def _fid(inp: Inputs) -> Value:
    v, rv = inp.against_a(_fid_of)
    return Value(v, None, rv, None)


FID_INCEPTION = register(
    Metric(
        key="fid-inception",
        title="FID (Inception-v3)",
        better="lower",
        spread="none",
        description="the standard FID in Inception-v3 pool features (torch-fidelity, local weights)",
        needs=frozenset({Need.IMAGES, Need.INCEPTION}),
        compute=_fid,
        floor=True,
        order=130,
        stem="fid",
        tag=NET_NAME,
        space="Inception-v3 pool features (torch-fidelity)",
        say="Inception-v3 FID (torch-fidelity) ...",
    )
)
