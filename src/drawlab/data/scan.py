"""Find the image files of a folder and decide its class labels (torchvision ImageFolder style)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from drawlab.data.decode import IMAGE_EXTENSIONS
from drawlab.errors import DataError


@dataclass
class FolderScan:
    """Image files under ``root`` sorted by relative path, with per-file class labels.

    ``labels`` is None when unlabelled; ``ignored`` counts images directly in ``root`` that
    were left out because the subfolders define the classes.
    """

    root: Path
    relpaths: list[str]  # posix-style paths relative to root
    stats: list[tuple[int, int]]  # (size in bytes, mtime in ns) per file
    class_names: list[str]
    labels: list[int] | None
    ignored: int = 0

    def abspaths(self) -> list[str]:
        base = str(self.root)
        return [os.path.join(base, p) for p in self.relpaths]


def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _walk_images(root: Path) -> list[str]:
    """Relative posix paths of all image files below ``root`` (hidden entries skipped, symlinks followed once)."""
    found: list[str] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop or a second link to the same folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + f for f in filenames if _is_image(f))
    return sorted(found)


def _class_split(relpaths: list[str]) -> tuple[list[str], list[str], list[int] | None, int]:
    """(kept relpaths, class names, labels, number ignored) for the subfolder-per-class convention.

    Labelled when at least two top-level subfolders hold images; images directly in the top folder
    are then ignored. With fewer than two such subfolders everything is one unlabelled set.
    """
    tops = sorted({p.split("/", 1)[0] for p in relpaths if "/" in p})
    if len(tops) < 2:
        return relpaths, [], None, 0
    index = {name: k for k, name in enumerate(tops)}
    kept = [p for p in relpaths if "/" in p]
    labels = [index[p.split("/", 1)[0]] for p in kept]
    return kept, tops, labels, len(relpaths) - len(kept)


def scan_folder(root: Path) -> FolderScan:
    """Scan ``root`` recursively for png/jpg/jpeg/webp/bmp files (case-insensitive extensions)."""
    if not root.exists():
        raise DataError(f"folder {root} does not exist: check the path after 'folder:'")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder: give a folder of images (png, jpg, jpeg, webp, bmp)")
    relpaths = _walk_images(root)
    if not relpaths:
        exts = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
        raise DataError(f"no image files ({exts}) found in {root} or its subfolders")
    kept, class_names, labels, ignored = _class_split(relpaths)
    base = str(root)
    stats = [_stat(os.path.join(base, p)) for p in kept]
    return FolderScan(root, kept, stats, class_names, labels, ignored)


def _stat(path: str) -> tuple[int, int]:
    """(size, mtime_ns); (-1, 0) for an entry that cannot be stat'ed (it will fail to decode)."""
    try:
        st = os.stat(path)
    except OSError:
        return -1, 0
    return st.st_size, st.st_mtime_ns
