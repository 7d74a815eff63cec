"""The data-source interface and the registry.

A source owns one kind of spec (``NAME`` or ``NAME:ARG``): how it is recognised, parsed, made absolute
for config.json, and opened. Adding a source is adding one file under ``drawlab/data/`` with a
``@register``ed subclass of ``Source``; the package imports every module, so nothing else is edited.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NamedTuple, TypeVar

from drawlab.errors import DataError

if TYPE_CHECKING:
    from drawlab.config import DataConfig
    from drawlab.data.dataset import ImageDataset


def user_path(text: str | Path) -> Path:
    """``text`` as a path with ``~`` expanded; DataError (not RuntimeError) when ``~user`` cannot be."""
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise DataError(f"cannot expand ~ in {str(text)!r}: no such user or no home directory") from None


class Argument(Enum):
    """What follows ``NAME:`` in a source's spec."""

    NONE = "none"  # nothing: the spec is the bare name (mnist)
    FOLDER = "folder"  # the path of a folder of images (folder:PATH)
    IMAGE = "image"  # the path of one image file (patches:IMAGE)
    FILE = "file"  # the path of a dataset in its own format: a file, or a folder (csv:PATH, npz:PATH, hf:PATH)


class Spec(NamedTuple):
    """A parsed spec: the source's name and what followed ``NAME:`` (None for sources that take nothing)."""

    kind: str
    arg: str | None = None

    @property
    def text(self) -> str:
        """The spec as a string again: ``mnist`` or ``folder:PATH``."""
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


class Source:
    """Base of every data source. Subclasses set ``name``, ``summary`` (and ``argument``, ``hint`` for
    ``NAME:ARG`` specs) and implement ``open``.

    Specs are matched case-insensitively on the name; the argument keeps its case.
    """

    name: ClassVar[str]  # the spec's prefix: 'mnist', 'folder'
    summary: ClassVar[str]  # one line for `drawlab data`
    rank: ClassVar[float] = 99.0  # place in `drawlab data` (ascending)
    argument: ClassVar[Argument] = Argument.NONE
    hint: ClassVar[str] = ""  # what the argument is, for "NAME: needs ...": "a path, e.g. folder:./my_images"
    bare: ClassVar[str] = ""  # the spec without NAME: this source also takes, for help: 'the path of a folder'

    @property
    def usage(self) -> str:
        """How the spec is written: ``mnist`` or ``folder:PATH``."""
        return self.name if self.argument is Argument.NONE else f"{self.name}:PATH"

    def recognises(self, text: str) -> bool:
        """Whether the (stripped) spec ``text`` is this source's: ``NAME`` or ``NAME:...``."""
        key = text.lower()
        return key == self.name or key.startswith(f"{self.name}:")

    def recognises_bare(self, text: str) -> bool:
        """Whether a spec that no source recognises is this source's anyway (a folder's bare path)."""
        return False

    def parse(self, text: str) -> Spec:
        """The parts of a spec this source recognises; DataError when it is malformed (a missing argument,
        or one given to a source that takes none)."""
        key = text.lower()
        rest = text[len(self.name) + 1 :].strip() if key.startswith(f"{self.name}:") else None
        if self.argument is Argument.NONE:
            if rest is not None:
                raise DataError(f"{self.name} takes nothing after it, got {text!r}: give just {self.name}")
            return Spec(self.name)
        if rest is None:  # a bare spec (recognises_bare) is the argument itself
            rest = text
        if not rest:
            raise DataError(f"{self.name}: needs {self.hint or 'a path'}")
        return Spec(self.name, rest)

    def absolute(self, spec: Spec) -> str:
        """The spec as config.json stores it, naming the same data from any working directory: a path
        argument made absolute (``~`` expanded); a spec without argument as its name. DataError when the
        path cannot be expanded."""
        if spec.arg is None:
            return spec.kind
        return f"{self.name}:{user_path(spec.arg).absolute()}"

    def example(self, folder: Path) -> str:
        """Write a tiny dataset of this source's kind under ``folder`` and return its spec (relative to
        ``folder``): how the tests and the docs show a source that reads a file of its own format."""
        raise NotImplementedError(f"{self.name} has no example")

    def open(self, spec: Spec, dc: DataConfig, root: Path, max_memory_bytes: int) -> ImageDataset:
        """The dataset ``spec`` names: uint8 images (N, C, H, W) in [0, 255], ``shape`` (C, H, W) with C 1 or
        3, labels int64 (N,) in [0, num_classes) or None. ``dc.size``/``dc.channels`` are validated (None:
        the source's default); ``root`` is the data root (downloads, caches); stream when the images
        would take more than ``max_memory_bytes`` (sources that can)."""
        raise NotImplementedError


REGISTRY: dict[str, Source] = {}

T = TypeVar("T", bound=Source)


def register(cls: type[T]) -> type[T]:
    """Class decorator: make one instance of a source available under ``cls.name``."""
    REGISTRY[cls.name] = cls()
    return cls


def registered() -> list[Source]:
    """Every registered source in `drawlab data` order (``rank``, then name)."""
    return sorted(REGISTRY.values(), key=lambda s: (s.rank, s.name))
