"""Data-parallel training on ``torch.distributed``, launched by ``torchrun`` (one process per CPU socket
or GPU, on one machine or several).

- The process group comes from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT):
  gloo for CPUs, NCCL for GPUs (rank r uses ``cuda:LOCAL_RANK``).
- ``--batch-size`` is the *global* batch: each of the W processes takes its rows (``batch / W``) of the
  same seeded global batch, so the data shards are disjoint, seeded and resumable, and every random draw
  of a step is made for the global batch (``drawlab.rng``). Gradients are averaged over the processes
  before each optimizer step (an all-reduce of one flat buffer per optimizer, the way stylegan2-ada
  does it), so all processes hold the same weights, and a W-process run computes what a 1-process run
  with the same global batch computes, up to float summation order. Two things stay per process:
  BatchNorm's batch statistics (each normalises its own rows; running statistics are rank 0's) and the
  batch means of the relativistic losses.
- Rank 0 alone writes the run (checkpoints, grids, logs, TensorBoard); the logged losses are means over
  all processes.
- Stopping is agreed: every step the processes all-reduce "done or asked to stop", so SIGTERM or Ctrl-C
  on any of them, or the time limit, stops all at the same step, and rank 0 writes the last checkpoint.
  A process that dies makes the others' next collective fail: they exit with one line (exit code 3).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import DistributedError

TIMEOUT_S = 120  # a collective waiting longer than this for a silent process gives up


@dataclass(frozen=True)
class Team:
    """This process's place in the run: rank of world (0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that writes the run."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    # -- collectives (no-ops for one process) -------------------------------------------------------
    def agree(self, done: bool, stop: bool, device: torch.device) -> tuple[bool, bool]:
        """(any process done, any process asked to stop), the same on every process."""
        if not self.distributed:
            return done, stop
        flags = torch.tensor([float(done), float(stop)], device=device)
        _collective(dist.all_reduce, flags, op=dist.ReduceOp.MAX)
        return bool(flags[0] > 0), bool(flags[1] > 0)

    def unanimous(self, flag: bool, device: torch.device) -> bool:
        """True when ``flag`` is true on every process (e.g. bf16 measured faster on each)."""
        if not self.distributed:
            return flag
        t = torch.tensor([float(flag)], device=device)
        _collective(dist.all_reduce, t, op=dist.ReduceOp.MIN)
        return bool(t.item() > 0)

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """The mean of ``t`` over the processes (``t`` itself for one)."""
        if not self.distributed:
            return t
        t = t.clone()
        _collective(dist.all_reduce, t)
        return t / self.world

    def finish(self) -> None:
        """Wait until every process is done (rank 0's last checkpoint and pictures written), then leave the
        process group together: a process that leaves while another is still working can be torn down early.

        Two waits: gloo's barrier says at once when a process died; the store's then holds every process
        until all have come out of that barrier, so none closes its sockets while a peer's last barrier
        message is still on the way (gloo's own barrier followed by teardown can abort a peer with SIGABRT:
        pytorch/gloo#155, seen once in CI under load)."""
        if not self.distributed:
            return
        _collective(dist.barrier)
        _collective(_store_barrier, "drawlab/finish", self.world)
        leave()

    def broadcast_parameters(self, modules) -> None:
        """Make every process start from rank 0's parameters and buffers."""
        if not self.distributed:
            return
        for m in modules:
            for t in [*m.parameters(), *m.buffers()]:
                _collective(dist.broadcast, t.data, src=0)

    def sync_gradients(self, optimizers) -> None:
        """Average gradients over the processes before each step of these optimizers."""
        if not self.distributed:
            return
        for opt in optimizers:
            opt.register_step_pre_hook(self._average_grads)

    def _average_grads(self, opt: torch.optim.Optimizer, *_args) -> None:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        _collective(dist.all_reduce, flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()


def _collective(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except (RuntimeError, dist.DistError) as e:
        why = re.sub(r"^\[[^\]]*\]\s*", "", (str(e).strip().splitlines() or [type(e).__name__])[0])[:100]
        raise DistributedError(
            f"another process of this run stopped or failed ({why}); the last checkpoint "
            "stands: continue with drawlab train --resume RUN_DIR"
        ) from None


def _store_barrier(key: str, world: int) -> None:
    """Wait until ``world`` processes have reached this call (through the rendezvous store, not gloo's
    sockets; up to ``TIMEOUT_S``). Each use of ``key`` is its own round: the k-th arrival belongs to round
    (k - 1) // world, so a second barrier on the same store waits afresh."""
    store = dist.distributed_c10d._get_default_store()
    arrived = store.add(key, 1)
    done = f"{key}/{(arrived - 1) // world}"
    if arrived % world == 0:
        store.set(done, "1")
    store.wait([done], _dt.timedelta(seconds=TIMEOUT_S))


def env_world() -> int:
    """WORLD_SIZE as torchrun sets it (1 without torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def join(device: torch.device) -> tuple[Team, torch.device]:
    """This process's Team, joining torchrun's process group when WORLD_SIZE > 1; and the device it
    trains on (``cuda:LOCAL_RANK`` for a GPU run)."""
    world = env_world()
    if world <= 1:
        return Team(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=_dt.timedelta(seconds=TIMEOUT_S))
    return Team(rank, world, local), device


def leave() -> None:
    """Leave the process group (at the end of a run; safe to call when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
