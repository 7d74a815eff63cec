"""One training process per run directory: an ``flock`` on RUN/.lock (see ``RunLock``)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import RunError


class RunLock:
    """An exclusive lock on a run directory (``flock`` on RUN/.lock, holding the owner's pid).

    A second process training or resuming the same run gets a RunError (one line, exit 2). The kernel
    drops the lock when its process dies however it dies (kill -9 too), so a lock left by a killed
    process is simply taken over; the pid it names is only for the message. Where ``fcntl`` does not
    exist (Windows), runs are not locked.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:  # a file in the way, no permission, a read-only disk ...
            raise RunError(
                f"cannot make the run directory {self.path.parent} ({e.strerror or e}): choose another --out"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunError(
                f"{self.path.parent} is being trained by process {owner} right now: wait for it to "
                "finish or stop it (Ctrl-C, kill), or train into another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the flock; the file stays (harmless, reused next time)
            self.fd = None
