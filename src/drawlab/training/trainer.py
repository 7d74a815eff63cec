"""The one training loop: batches, the family's step, the events its observers watch, checkpoints,
rollbacks and clean interrupts.

The model family owns its networks and its step; ``RunSetup`` (setup.py) builds the run; the Trainer steps it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import torch

from .. import faults
from ..config import TrainConfig
from ..data import Batches
from ..device import describe
from ..errors import ConfigError, NumericsError
from ..images import grid_array, save_png, to_uint8
from ..models import Family
from ..records.verdicts import Verdict
from ..run import RunDir
from . import cuda_graph
from .console import StopFlag, postfix, progress_bar, say, say_above_bar, summary_line
from .events import Event, Observers, Rollback
from .logger import MetricsLogger
from .setup import RunSetup

SMALL_DATASET = 1000  # fewer images than this earn a warning


@dataclass
class TrainResult:
    """What a finished (or interrupted) run reached."""

    run_dir: Path
    step: int
    epoch: float
    seconds: float
    img_per_s: float
    last_grid: Path | None
    checkpoint: Path | None
    interrupted: bool = False
    already_done: bool = False


class Trainer:
    """Builds a run from a TrainConfig (or reopens one: ``RunSetup``) and trains it to its target.

    The run's directory stays locked from the set-up until ``train`` ends, ``close`` is called or the
    ``with`` block ends (a set-up that fails releases it at once).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: str | Path,
        resume: bool = False,
        progress: bool = True,
        echo: Callable[[str], None] | None = None,
    ):
        self.setup = RunSetup(cfg, run_dir, resume, echo or (say_above_bar if progress else say))
        self.progress = progress and self.setup.team.main
        self.observers = Observers(self.setup.monitors)
        self.view = self.setup.view
        self.echo = self.setup.echo

    # -- what the run is -----------------------------------------------------------------------------
    @property
    def cfg(self) -> TrainConfig:
        return self.setup.cfg

    @property
    def family(self) -> Family:
        return self.setup.family

    @property
    def run(self) -> RunDir:
        return self.setup.run

    @property
    def batches(self) -> Batches:
        return self.setup.batches

    @property
    def team(self) -> Any:
        return self.setup.team

    @property
    def step(self) -> int:
        return self.setup.step

    @property
    def watchdog(self) -> Any:
        """The run's Watchdog monitor, or None."""
        return next((o for o in self.observers.items if o.name == "watchdog"), None)

    def verdicts(self) -> list[Verdict]:
        """The findings recorded in this run so far."""
        return self.view.verdicts()

    # -- the lock ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Let another process train this run (``train`` does it when it ends, however it ends)."""
        self.setup.close()

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- targets ---------------------------------------------------------------------------------------
    def target_steps(self) -> int | None:
        """The run's total steps, or None when it is limited by minutes only."""
        steps = self.setup.length_in_steps()
        if steps is None and self.cfg.minutes is None:
            raise ConfigError("no training length: give --steps, --epochs or --minutes")
        return steps

    def _done(self, target: int | None) -> bool:
        if target is not None:
            return self.step >= target
        return self.setup.position.elapsed >= (self.cfg.minutes or 0.0) * 60

    def _every(self, explicit: int | None, target: int | None) -> int:
        spe = self.batches.steps_per_epoch
        if explicit:
            return max(1, explicit)
        if target is not None:
            return max(1, min(spe, target), math.ceil(target / 40))
        return max(spe, 200)

    # -- outputs ---------------------------------------------------------------------------------------
    def write_grid(self) -> Path | None:
        """Sample grid from the fixed noise -> samples/step-NNNNNNN.png (and TensorBoard); emits ``grid``.
        Rank 0 alone draws it (None elsewhere)."""
        if not self.team.main:
            return None
        imgs = to_uint8(self.family.generate(self.view.fixed_z, self.view.fixed_y)).cpu()
        arr = grid_array(imgs, nrow=10)
        path = save_png(arr, self.run.samples / f"step-{self.step:07d}.png")
        self.logger.add_image("samples/fixed_noise", arr, self.step)
        self.observers.emit(Event.GRID, self.view, imgs, path)
        return path

    def save(self) -> Path | None:
        """Write a checkpoint of this step (after ``saving``, whose observers may refuse it with a Rollback);
        emits ``checkpoint``. Rank 0 alone writes it (None elsewhere)."""
        if not self.team.main:
            return None
        self.observers.emit(Event.SAVING, self.view)
        s = self.setup
        path = self.run.save_checkpoint(self.family, self.step, s.state(), self.cfg.keep_checkpoints).weights
        self.observers.emit(Event.CHECKPOINT, self.view)
        self.logger.reset_clock()
        return path

    def _step_function(self) -> Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        """``family.train_step`` with this run's generator, as a CUDA graph when asked for on a GPU."""
        s = self.setup
        step = (
            cuda_graph.GraphedStep(self.family, s.context, s.gen)
            if s.graphs
            else lambda x, y: self.family.train_step(x, y, s.gen)
        )
        if faults.planned("nan"):  # testing aid (DRAWLAB_FAULT=nan@STEP): that step's batch becomes NaN
            return lambda x, y: step(x * float("nan") if faults.nan_at(self.step + 1) else x, y)
        return step

    # -- the loop --------------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        """Train to the target (see ``_train``), then release the run directory's lock; the caller's global random
        state is as it was."""
        try:
            with self.setup.rng_cpu:
                return self._train()
        finally:
            self.close()

    def _train(self) -> TrainResult:
        """Steps until the target or a stop, the last grid and checkpoint, then ``finish``; a ``Rollback`` raised
        by an observer on the way is carried out (``_roll_back``) and training goes on from there."""
        target = self.target_steps()
        spe, s = self.batches.steps_per_epoch, self.setup
        if self._done(target):
            done = TrainResult(self.run.path, self.step, self.step / spe, s.position.elapsed, 0.0, None, None)
            done.already_done = True
            return done
        self._announce()
        self.logger = MetricsLogger(
            self.run.metrics if self.team.main else None,
            self.run.tensorboard if self.team.main else None,
            self.cfg.batch_size,
            purge_step=self.step + 1 if s.resume else None,
            reduce=self.team.mean if self.team.distributed else None,
        )
        self.view.logger = self.logger
        self.observers.emit(Event.START, self.view)
        bar = progress_bar(self.progress, target, self.step, self.cfg.minutes)
        start_step, t_start = self.step, time.perf_counter()
        self._last_grid: Path | None = None
        self._last_rec: dict[str, Any] | None = None
        self._batch_iter, self._step_fn = self.batches.iterate(self.step), self._step_function()
        while True:
            try:
                interrupted = self._steps(target, bar)
                self._last_rec = self.logger.flush(self.step, self.step / spe) or self._last_rec
                ck = self._last_outputs()
                break
            except Rollback as r:
                self._roll_back(r)
        bar.close()
        wall = time.perf_counter() - t_start
        ips = (self.step - start_step) * self.cfg.batch_size / max(wall, 1e-9)
        res = TrainResult(
            self.run.path, self.step, self.step / spe, s.position.elapsed, ips, self._last_grid, ck, interrupted
        )
        self.observers.emit(Event.FINISH, self.view, res)
        self.logger.close()
        self.echo(summary_line(res, self._last_rec, getattr(self.family, "readout", None)))
        self.team.finish()
        return res

    def _steps(self, target: int | None, bar: Any) -> bool:
        """Step until the target or a stop (Ctrl-C, SIGTERM, another process's); True when stopped early."""
        cfg, spe, pos = self.cfg, self.batches.steps_per_epoch, self.setup.position
        grid_every = self._every(cfg.sample_every, target)
        ckpt_every = self._every(cfg.checkpoint_every, target) if cfg.checkpoint_every else grid_every
        with StopFlag() as stop:
            while True:
                done, stopping = self.team.agree(self._done(target), stop.requested, self.device)
                if done or stopping:
                    return bool(stopping)
                t0 = time.perf_counter()
                x, y = next(self._batch_iter)
                if self.setup.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                self.logger.add(self._step_fn(x, y))
                pos.step += 1
                pos.elapsed += time.perf_counter() - t0
                bar.update(1)
                if self.step % cfg.log_every == 0:
                    self._last_rec = self.logger.flush(self.step, self.step / spe)
                    bar.set_postfix_str(postfix(self._last_rec))
                    if self._last_rec:
                        self.observers.emit(Event.LOG, self.view, self._last_rec)
                if self.step % grid_every == 0:
                    self._last_grid = self.write_grid()
                if self.step % ckpt_every == 0:
                    self.save()
                if self.step % spe == 0:
                    self.observers.emit(Event.EPOCH_END, self.view, self.step // spe)
                self.observers.emit(Event.STEP, self.view)

    @property
    def device(self) -> torch.device:
        return self.setup.device

    def _last_outputs(self) -> Path | None:
        """The last grid (unless this step has one) and the last checkpoint."""
        last = self._last_grid
        if self.team.main and (last is None or not last.name.endswith(f"{self.step:07d}.png")):
            self._last_grid = self.write_grid()
        return self.save()

    def _roll_back(self, r: Rollback) -> None:
        """Carry out an observer's Rollback (see ``RunSetup.roll_back``), say it and record its verdict."""
        at = self.step
        done = self.setup.roll_back(r.what, r.lr_factor)
        if done is None:
            self.view.verdict(r.verdict(at, None))
            raise NumericsError(
                f"training diverged: {r.what}, before the first checkpoint: lower the learning "
                "rates (--lr-g/--lr-d) or checkpoint sooner (--checkpoint-every)"
            )
        self.logger.discard()  # the running means of the diverged steps
        self._batch_iter, self._step_fn = self.batches.iterate(self.step), self._step_function()
        self._last_grid = None
        self.echo(
            f"drawlab: warning: {r.what}: rolled back to step {self.step} (the newest checkpoint) and "
            f"multiplied the learning rates by {r.lr_factor} (lr_g {done['lr_g']:.3g}, lr_d {done['lr_d']:.3g}); "
            f"rollback {self.view.rollbacks}"
        )
        self.view.verdict(r.verdict(at, self.step))

    def _announce(self) -> None:
        d, s = self.setup.data, self.setup
        if d.notice:  # what the data source understood: said once every input has been checked
            self.echo(d.notice)
        if len(d) < SMALL_DATASET:
            self.echo(
                f"drawlab: warning: only {len(d)} training images: GANs tend to memorise or collapse on so few; "
                "watch the sample grids, and prefer more data or image augmentation"
            )
        why = s.precision_choice.why if s.precision_choice else ""
        self.echo(
            f"training {self.family.name} on {d.name} {tuple(d.shape)} x {len(d)} | "
            f"{describe(self.device)}, {s.precision} ({why}) | run: {self.run.path}"
        )
