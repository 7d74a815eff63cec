"""Writing files so that a crash never leaves half of one: the one helper every module uses.

``atomic_write(path, write)`` calls ``write(tmp_path)`` to fill a temporary file beside ``path``,
flushes it to disk and renames it into place, so readers see the old file or the new one, never a
mix. ``append_jsonl`` adds one complete line to a log; ``read_jsonl`` skips a torn last line.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Fill ``path`` through ``write(tmp)`` (which creates ``tmp``), fsync it, rename it into place.

    The temporary name keeps ``path``'s suffix (``x.tmp.png``), so writers that look at it still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def append_jsonl(path: str | Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line (one write call, flushed)."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


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
