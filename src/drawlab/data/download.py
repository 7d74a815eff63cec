"""Guarded downloads through torchvision: short timeout, never partial files, skippable offline."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

DOWNLOAD_TIMEOUT_S = 10.0


def offline() -> bool:
    """True when env DRAWLAB_OFFLINE is set to 1/true/yes/on: never touch the network."""
    return os.environ.get("DRAWLAB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def download_train_split(dataset_class: str, root: Path) -> str | None:
    """Download a torchvision dataset's train split into ``root/<dataset_class>/raw``.

    Downloads into a temporary folder first and moves the files into place only when the
    whole download succeeded. Returns None on success, else a short reason for the failure.
    """
    if offline():
        return "DRAWLAB_OFFLINE is set"
    tmp = root / f".download-{dataset_class}-{os.getpid()}"
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        import torchvision.datasets as tvd

        getattr(tvd, dataset_class)(root=str(tmp), train=True, download=True)
        dest = root / dataset_class / "raw"
        dest.mkdir(parents=True, exist_ok=True)
        for f in (tmp / dataset_class / "raw").iterdir():
            os.replace(f, dest / f.name)
        return None
    except Exception as exc:  # any failure (network, disk, torchvision) means "not available"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    finally:
        socket.setdefaulttimeout(old_timeout)
        shutil.rmtree(tmp, ignore_errors=True)
