"""Random draws for a training batch that do not depend on how many processes share the batch.

In data-parallel training each of ``world`` processes holds ``1 / world`` of the global batch. Every draw
here is made for the *global* batch (``world`` x the local rows) from a generator that all processes keep
in the same state, and each process keeps its own rows. So the noise, label pairings, augmentations and
penalties of a 2-process run are exactly those of a 1-process run with the same global batch, and a run
may resume on another number of processes. With one process these are plain ``torch`` draws.
"""

from __future__ import annotations

import torch


class ShardedGenerator(torch.Generator):
    """A ``torch.Generator`` held by process ``rank`` of ``world`` (0 of 1: an ordinary generator)."""

    def __new__(cls, device: torch.device | str = "cpu", rank: int = 0, world: int = 1) -> ShardedGenerator:
        # torch's stub declares only Generator.__init__, but its C __new__ takes the device (and refuses
        # rank/world, hence this override)
        return super().__new__(cls, device)  # type: ignore[call-arg]

    def __init__(self, device: torch.device | str = "cpu", rank: int = 0, world: int = 1) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not in 0..{world - 1}")
        self.rank, self.world = rank, world


def make_generator(device: torch.device | str = "cpu", rank: int = 0, world: int = 1) -> torch.Generator:
    """The training generator of process ``rank`` of ``world``: a plain ``torch.Generator`` for one process
    (which CUDA graphs can register: they refuse subclasses), a ``ShardedGenerator`` for several."""
    return torch.Generator(device) if world == 1 else ShardedGenerator(device, rank, world)


def _global(shape: tuple[int, ...], gen: torch.Generator) -> tuple[tuple[int, ...], slice]:
    """The global shape of a draw whose first dimension holds the local rows, and this process's rows."""
    rank, world = getattr(gen, "rank", 0), getattr(gen, "world", 1)
    n = shape[0]
    return (n * world, *shape[1:]), slice(rank * n, (rank + 1) * n)


def randn(
    shape: tuple[int, ...],
    gen: torch.Generator,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Standard normal (shape), rows = this process's share of the global batch."""
    full, rows = _global(tuple(shape), gen)
    return torch.randn(full, generator=gen, device=device, dtype=dtype)[rows]


def rand(
    shape: tuple[int, ...],
    gen: torch.Generator,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Uniform [0, 1) (shape), rows = this process's share of the global batch."""
    full, rows = _global(tuple(shape), gen)
    return torch.rand(full, generator=gen, device=device, dtype=dtype)[rows]


def randint(
    low: int, high: int, shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str | None = None
) -> torch.Tensor:
    """Integers in [low, high) (shape), rows = this process's share of the global batch."""
    full, rows = _global(tuple(shape), gen)
    return torch.randint(low, high, full, generator=gen, device=device)[rows]


class GlobalStream:
    """The global CPU generator as one run's own stream (weight initialisation, dropout and anything else
    drawn without a generator): inside ``with stream:`` torch's global CPU state is this stream's, and the
    caller's state is put back after, so a library user's random state is never reseeded or consumed.
    Re-entrant; ``get``/``set`` read and write the stream's state inside or outside a ``with``."""

    def __init__(self, seed: int) -> None:
        self._state = torch.Generator().manual_seed(seed).get_state()
        self._caller: torch.Tensor | None = None
        self._depth = 0

    def __enter__(self) -> GlobalStream:
        if self._depth == 0:
            self._caller = torch.get_rng_state()
            torch.set_rng_state(self._state)
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._state = torch.get_rng_state()
            assert self._caller is not None  # saved by the __enter__ that made the depth 1
            torch.set_rng_state(self._caller)
            self._caller = None

    def get(self) -> torch.Tensor:
        """The stream's state now (a uint8 tensor, as ``torch.get_rng_state``)."""
        return torch.get_rng_state() if self._depth else self._state.clone()

    def set(self, state: torch.Tensor) -> None:
        """Continue the stream from ``state`` (as ``torch.set_rng_state``)."""
        if self._depth:
            torch.set_rng_state(state)
        else:
            self._state = state.clone()
