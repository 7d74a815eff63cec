"""Errors a user can cause. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class DrawlabError(Exception):
    """A bad input or state the user can fix: the message says what was wrong and what to do."""

    exit_code = 2


class DataError(DrawlabError):
    """A data spec, path or file set that cannot be used."""


class ConfigError(DrawlabError):
    """An option or combination of options that is not valid."""


class RunError(DrawlabError):
    """A run directory that is missing, incomplete or incompatible."""


class StorageError(DrawlabError):
    """A write refused by the disk (full, read-only, no permission): nothing half-written is left."""


class NumericsError(DrawlabError):
    """Training diverged (non-finite losses or weights) and could not be rolled back (exit code 3)."""

    exit_code = 3


class DistributedError(DrawlabError):
    """Another process of a data-parallel run failed or vanished (exit code 3: the run itself was fine)."""

    exit_code = 3
