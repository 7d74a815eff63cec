"""A network's train/eval mode, set for a block and given back after it (one home for every such toggle).

``with evaluating(g):`` draws with BatchNorm's running statistics and without dropout, then puts ``g`` back in the
mode it was in, even when the block raises. ``in_mode(d, training=True)`` does the same for any mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from torch import nn


@contextmanager
def in_mode(*nets: nn.Module, training: bool) -> Iterator[None]:
    """Put every net in train (``training=True``) or eval mode for the block, then back to its own mode."""
    was = [n.training for n in nets]
    for n in nets:
        n.train(training)
    try:
        yield
    finally:
        for n, w in zip(nets, was, strict=True):
            n.train(w)


def evaluating(*nets: nn.Module) -> AbstractContextManager[None]:
    """``in_mode(*nets, training=False)``: eval mode for the block, each net's own mode after it."""
    return in_mode(*nets, training=False)
