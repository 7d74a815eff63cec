"""Writing files so that a crash never leaves half of one: the one helper every module uses.

``atomic_write(path, write, kind)`` calls ``write(tmp_path)`` to fill a temporary file beside ``path``,
fsyncs it, renames it into place and fsyncs the directory, so readers see the old file or the new one,
never a mix, and the new one survives a power cut once the call returns. A full or read-only disk
becomes a ``StorageError`` (one line, exit 2) with nothing left behind. ``append_jsonl`` adds one complete
line to a log; ``read_jsonl`` skips a torn last line. ``kind`` names the write for fault injection
(``drawlab.faults``: DRAWLAB_FAULT=enospc@checkpoint, crash@checkpoint-rename, ...).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import faults
from .errors import StorageError

DISK_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the file system is read-only",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def storage_error(e: OSError, path: Path) -> StorageError | OSError:
    """A one-line StorageError for a full, read-only or forbidden disk; other OSErrors unchanged."""
    if e.errno not in DISK_ERRORS:
        return e
    return StorageError(
        f"cannot write {path}: {DISK_ERRORS[e.errno]} ({e.strerror}); free space or choose a "
        "writable place, then resume: the files written before stand"
    )


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], Any], kind: str = "file") -> Path:
    """Fill ``path`` through ``write(tmp)`` (which creates ``tmp``), fsync it, rename it into place,
    fsync the directory. A full/read-only disk raises StorageError and leaves no temporary file.

    The temporary name (``.x.PID.tmp.png`` beside ``x.png``) keeps ``path``'s suffix, so writers that look at it still work.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        faults.before_write(kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        faults.crash_point(f"{kind}-write")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        faults.crash_point(f"{kind}-fsync")
        os.replace(tmp, path)
        faults.crash_point(f"{kind}-rename")
        fsync_dir(path.parent)
    except OSError as e:
        raise storage_error(e, path) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: str | Path, data: bytes, kind: str = "file") -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), kind)


def atomic_write_json(path: str | Path, obj: Any, kind: str = "file") -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode(), kind)


def append_jsonl(path: str | Path, record: dict[str, Any], kind: str = "log") -> None:
    """Append ``record`` as one JSON line (one write call, flushed); a full disk is a StorageError."""
    try:
        faults.before_write(kind)
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
    except OSError as e:
        raise storage_error(e, Path(path)) from None


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines file; a missing file is empty and unreadable lines are skipped."""
    try:
        text = Path(path).read_text()
    except OSError:
        return
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            yield rec


def trim_jsonl(path: str | Path, last_step: int) -> None:
    """Drop the records with ``"step"`` after ``last_step`` (and any damaged line) from a JSON-lines
    file: after a hard stop a log runs past the checkpoint a resume starts from."""
    path = Path(path)
    if not path.is_file():
        return
    text = path.read_text()
    keep = []
    for line in text.splitlines():
        try:
            if int(json.loads(line)["step"]) <= last_step:
                keep.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            pass
    if "".join(keep) != text:
        atomic_write_bytes(path, "".join(keep).encode())
