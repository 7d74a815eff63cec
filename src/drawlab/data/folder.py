"""``folder:PATH`` datasets: decoded once (in a process pool), cached as .npy, or streamed when too big.

Conventions: extensions png/jpg/jpeg/webp/bmp (any case) anywhere below PATH; hidden files and folders
are skipped. When two or more top-level subfolders hold images, their sorted names are the classes and
images directly in PATH are ignored (with a warning); otherwise the set is unlabelled. Default size 64;
default channels 3 if any of the first few dozen readable files is colour, else 1. Non-square images are
made square by ``--fit`` (crop by default; see ``decode.Fit``); alpha is put over white. What was found and
done (sizes, modes, the fit) is said in one line of the run's log. Unreadable files are skipped with one
warning. The cache key (fingerprint) covers the sorted relative paths, file sizes and
mtimes, the classes, size and channels, not the folder's location.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from drawlab.data.base import Argument, Source, Spec, register, user_path
from drawlab.data.cache import load_cached, save_cached
from drawlab.data.dataset import DataWarning, ImageDataset, StreamingImageDataset, make_fingerprint
from drawlab.data.decode import FIT_SAYS, Fit, decode_many, is_colour_mode, probe_mode, try_decode
from drawlab.data.scan import FolderScan, scan_folder
from drawlab.errors import DataError

if TYPE_CHECKING:
    from drawlab.config import DataConfig

DEFAULT_FOLDER_SIZE = 64
PROBE_FILES = 48  # readable files whose mode decides the default channel count
SURVEY_FILES = 256  # headers read, spread over the folder, for the log's line on sizes and modes
_ALPHA_MODES = frozenset({"RGBA", "LA", "La", "RGBa", "PA"})


def detect_channels(paths: list[str]) -> int | None:
    """3 if any of the first PROBE_FILES readable files is colour, 1 if none is, None if none is readable."""
    readable = 0
    for path in paths:
        mode = probe_mode(path)
        if mode is None:
            continue
        if is_colour_mode(mode):
            return 3
        readable += 1
        if readable >= PROBE_FILES:
            break
    return 1 if readable else None


def _header(path: str) -> tuple[tuple[int, int], str, bool] | None:
    """((width, height), mode, has transparency) from the file's header, or None when unreadable."""
    try:
        with Image.open(path) as im:
            alpha = im.mode in _ALPHA_MODES or (im.mode == "P" and "transparency" in im.info)
            return im.size, im.mode, alpha
    except Exception:
        return None


def survey(paths: list[str], channels: int, fit: Fit) -> str:
    """One line on what the folder holds and what decoding does to it, from the headers of up to
    SURVEY_FILES files spread evenly over ``paths``: sizes, square or not and the fit, alpha, colour."""
    step = max(1, len(paths) // SURVEY_FILES)
    heads = [h for h in (_header(p) for p in paths[::step][:SURVEY_FILES]) if h is not None]
    if not heads:
        return ""
    n = len(heads)
    of = "all" if n == len(paths) else f"{n} looked at"
    sizes = sorted({h[0] for h in heads}, key=lambda wh: wh[0] * wh[1])
    shown = f"{sizes[0][0]}x{sizes[0][1]}" + (f" to {sizes[-1][0]}x{sizes[-1][1]}" if len(sizes) > 1 else "")
    oblong = sum(1 for (w, h), _, _ in heads if w != h)
    parts = [f"sizes {shown} ({of})"]
    if oblong:
        share = "all" if oblong == n else f"{oblong} of {n}"
        parts.append(f"not square ({share}): made square by --fit {fit.value}, {FIT_SAYS[fit]}")
    alpha = sum(1 for _, _, a in heads if a)
    if alpha:
        parts.append(f"{alpha} of {n} with transparency, put over white")
    colour = sum(1 for _, mode, _ in heads if is_colour_mode(mode))
    if channels == 1 and colour:
        parts.append(f"{colour} of {n} in colour, made grey (luma)")
    if channels == 3 and colour < n:
        parts.append(f"{n - colour} of {n} grey, repeated to RGB")
    return "; ".join(parts)


@dataclass(frozen=True)
class FolderFacts:
    """What a folder holds, from its listing and up to SURVEY_FILES headers (no image decoded): what a
    recipe is chosen by (training/recipe.py)."""

    count: int  # image files
    classes: int  # subfolders that are classes (0: unlabelled)
    side: int  # the median of min(width, height) of the headers read
    colour: float  # share of the headers read in a colour mode
    looked_at: int  # headers read


def folder_facts(path: str | Path) -> FolderFacts:
    """``FolderFacts`` of the folder at ``path`` (DataError, one line, when it is not a folder of images)."""
    scan = scan_folder(user_path(Path(path)).resolve())
    paths = scan.abspaths()
    step = max(1, len(paths) // SURVEY_FILES)
    heads = [h for h in (_header(p) for p in paths[::step][:SURVEY_FILES]) if h is not None]
    if not heads:
        raise _all_unreadable(scan.root, len(paths))
    sides = sorted(min(wh) for wh, _, _ in heads)
    colour = sum(1 for _, mode, _ in heads if is_colour_mode(mode)) / len(heads)
    classes = len(scan.class_names) if scan.labels is not None else 0
    return FolderFacts(len(paths), classes, sides[len(sides) // 2], colour, len(heads))


class FolderItemReader:
    """Decodes item i of a streaming folder dataset; an unreadable file is replaced by the next readable one
    (whose index is returned with it, so its label comes along)."""

    def __init__(self, paths: list[str], size: int, channels: int, fit: Fit = Fit.CROP) -> None:
        self.paths = paths
        self.size = size
        self.channels = channels
        self.fit = fit
        self._warned = False

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, i: int) -> tuple[torch.Tensor, int]:
        """(uint8 (channels, size, size), the index of the file decoded)."""
        n = len(self.paths)
        for k in range(n):
            a = try_decode(self.paths[(i + k) % n], self.size, self.channels, self.fit)
            if a is not None:
                if k and not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"could not decode {self.paths[i]}; using a neighbouring image", DataWarning, stacklevel=2
                    )
                return torch.from_numpy(a), (i + k) % n
        raise DataError(f"none of the {n} image files could be decoded any more; check the folder")


def _warn_skipped(root: Path, skipped: list[str]) -> None:
    if skipped:
        noun = "file" if len(skipped) == 1 else "files"
        warnings.warn(
            f"skipped {len(skipped)} unreadable image {noun} in {root} (e.g. {skipped[0]})",
            DataWarning,
            stacklevel=4,
        )


def _all_unreadable(root: Path, n: int) -> DataError:
    return DataError(f"none of the {n} image files in {root} could be read: check that they are valid images")


DECODER_VERSION = "drawlab-decode-1"  # bump when decoding changes (resize, colour, orientation)


def cache_key(fp: str, root: Path) -> str:
    """The decoded-images cache's key: the data's fingerprint, the folder itself and the decoder (drawlab's
    and Pillow's versions), so two folders, or two decoders, never share a cache."""
    import PIL

    return make_fingerprint(fp, str(root), DECODER_VERSION, PIL.__version__)


def _decode_or_load(
    scan: FolderScan, cache_root: Path, fp: str, size: int, channels: int, fit: Fit
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (M, C, size, size) of the readable files, and a bool (N,) mask of which files those are."""
    fp = cache_key(fp, scan.root)
    cached = load_cached(cache_root, fp, (channels, size, size))
    if cached is not None:
        images, meta = cached
        skipped = set(meta.get("skipped", []))
        ok = np.array([p not in skipped for p in scan.relpaths], dtype=bool)
        if int(ok.sum()) == images.shape[0]:
            return images, ok
    images, ok = decode_many(scan.abspaths(), size, channels, fit=fit)
    if not ok.all():
        images = images[ok]
    if images.shape[0]:
        skipped_paths = [p for p, good in zip(scan.relpaths, ok) if not good]
        save_cached(cache_root, fp, images, {"skipped": skipped_paths})
    return images, ok


def _readable_mask(paths: list[str]) -> np.ndarray:
    """Streaming mode: a header check per file (full decoding happens later, item by item)."""
    return np.array([probe_mode(p) is not None for p in paths], dtype=bool)


def open_folder(
    path: Path,
    cache_root: Path,
    size: int | None,
    channels: int | None,
    max_memory_bytes: int,
    fit: Fit = Fit.CROP,
) -> ImageDataset:
    """Open a folder of images (options already validated); see the module docstring for conventions."""
    root = user_path(path).resolve()
    scan = scan_folder(root)
    if scan.ignored:
        warnings.warn(
            f"ignored {scan.ignored} images directly in {root}: its subfolders define the classes",
            DataWarning,
            stacklevel=3,
        )
    size = DEFAULT_FOLDER_SIZE if size is None else size
    if channels is None:
        channels = detect_channels(scan.abspaths())
        if channels is None:
            raise _all_unreadable(root, len(scan.relpaths))
    fitted = () if fit is Fit.CROP else (fit.value,)  # crop keeps the fingerprints made before --fit existed
    fp = make_fingerprint("folder", scan.class_names, scan.relpaths, scan.stats, size, channels, *fitted)
    streaming = len(scan.relpaths) * channels * size * size > max_memory_bytes
    if streaming:
        images, ok = None, _readable_mask(scan.abspaths())
    else:
        images, ok = _decode_or_load(scan, cache_root, fp, size, channels, fit)
    if not ok.any():
        raise _all_unreadable(root, len(scan.relpaths))
    _warn_skipped(root, [p for p, good in zip(scan.relpaths, ok) if not good])
    labels = None
    if scan.labels is not None:
        labels = torch.tensor(scan.labels, dtype=torch.int64)[torch.from_numpy(ok)]
    common: dict[str, Any] = dict(
        name=f"folder:{root}",
        shape=(channels, size, size),
        num_classes=len(scan.class_names),
        class_names=list(scan.class_names),
        labels=labels,
        fingerprint=fp,
        notice=f"folder: {int(ok.sum()):,} images as {size}x{size}x{channels}; "
        + survey(scan.abspaths(), channels, fit),
    )
    if streaming:
        kept = [p for p, good in zip(scan.abspaths(), ok) if good]
        return StreamingImageDataset(images=None, reader=FolderItemReader(kept, size, channels, fit), **common)
    return ImageDataset(images=torch.from_numpy(images), **common)


@register
class Folder(Source):
    """``folder:PATH``, or the bare path of an existing folder."""

    name = "folder"
    summary = (
        f"your png/jpg/jpeg/webp/bmp images under PATH; subfolders become classes; default size {DEFAULT_FOLDER_SIZE}"
    )
    rank = 50
    argument = Argument.FOLDER
    hint = "a path, e.g. folder:./my_images"
    bare = "the path of an existing folder"

    def recognises_bare(self, text: str) -> bool:
        try:
            return user_path(text).exists()
        except (DataError, OSError, ValueError):  # no such ~user, a NUL byte, a name too long
            return False

    def open(self, spec: Spec, dc: DataConfig, root: Path, max_memory_bytes: int) -> ImageDataset:
        assert spec.arg is not None
        return open_folder(Path(spec.arg), root, dc.size, dc.channels, max_memory_bytes, Fit(dc.fit))
