"""The one training loop: data, device, checkpoints, logging, resume and clean interrupts.

The model family owns its networks and its step; the Trainer owns everything else.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__, faults
from .. import verdicts as verdicts_file
from ..config import TrainConfig
from ..data import Batches, ImageDataset, open_configured
from ..device import Precision, autocast, describe, enable_fast_math, pick_device, pick_precision
from ..errors import ConfigError, NumericsError
from ..files import append_jsonl, trim_jsonl
from ..images import grid_array, save_png, to_uint8
from ..latent import balanced_labels, seeded_noise
from ..models import Family, build_family
from ..rng import GlobalStream, make_generator
from ..run import RunDir
from ..verdicts import Verdict
from . import cuda_graph, distributed
from .checks import check_config, same_run
from .console import StopFlag, postfix, progress_bar, summary_line
from .d_monitor import DMonitor
from .diagnostics import diversity
from .eval_probe import EvalProbe
from .events import Event, Observer, Observers
from .logger import MetricsLogger
from .nan_guard import NanGuard
from .pictures import Pictures
from .reconstructions import Reconstructions, Scales
from .sizing import precision_probe
from .snapshots import Snapshots
from .watchdog import D_WINS_STEPS, Watchdog

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
    """Builds a run from a TrainConfig (or reopens one) and trains it to its target."""

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: str | Path,
        resume: bool = False,
        progress: bool = True,
        echo: Callable[[str], None] | None = None,
    ):
        cfg = check_config(cfg)  # a checked, resolved copy: the caller's config is never changed
        faults.check()
        self.cfg, self.run, self.resume = cfg, RunDir(run_dir), resume
        self.echo = echo or (lambda s: print(s, file=sys.stderr))
        self.progress = progress
        self.team, self.device = distributed.join(pick_device(cfg.device))
        if not self.team.main:  # the other processes of a data-parallel run say nothing and write nothing
            self.echo, self.progress = (lambda s: None), False
        self.precision, self.precision_choice = "fp32", None  # decided once the data is open (``_pick_precision``)
        self.graphs, why = cuda_graph.decide(cfg, self.device.type, self.team.world)
        if self.device.type == "cuda":
            self.echo(f"CUDA graphs {why}")
        self.rng_cpu = GlobalStream(cfg.seed)  # torch's global CPU generator, as this run's own: never the caller's
        with self.rng_cpu:
            self._build()

    def _build(self) -> None:
        """Data, family, generators, the run directory (created, or reopened to resume) and observers."""
        cfg = self.cfg
        self.data: ImageDataset = open_configured(cfg.data)
        if self.data.notice:
            self.echo(self.data.notice)
        self._pick_precision()
        self.sized = self._fit_batch()
        self.family: Family = build_family(cfg.model, self.data.shape, self.data.num_classes)
        self.channels_last = cfg.channels_last and self.family.has_conv
        self.batches = Batches(
            self.data, cfg.batch_size, cfg.seed, self.device, rank=self.team.rank, world=self.team.world
        )
        self.family.steps_per_epoch = self.batches.steps_per_epoch
        self.family.processes = self.team.world
        if cfg.model.instance_noise > 0 and cfg.model.instance_noise_steps is None:
            cfg.model.instance_noise_steps = self._length_in_steps() or 1000  # resolved once, kept in config.json
        self.gen = make_generator(self.device, self.team.rank, self.team.world)  # the same on every process
        self.gen.manual_seed(cfg.seed)
        self.step, self.elapsed = 0, 0.0
        self.rollbacks: list[dict[str, Any]] = []  # NaN rollbacks so far (config.json facts)
        probe = None  # the in-training FID (--eval-every)
        if (
            cfg.eval_every and self.team.main
        ):  # feature net and real features first: a bad --eval-n fails before any run exists
            from ..metrics.probe import FIDProbe

            probe = FIDProbe(self.data, cfg.eval_n, cfg.data.root, self.device, echo=self.echo)
        self._lock = self.run.lock().__enter__() if self.team.main else None  # one trainer per run
        try:
            self._setup_run()
        except BaseException:
            self.release()
            raise
        self.observers = Observers(self._observers(probe) if self.team.main else [])
        self.family.to(self.device, self.channels_last)
        self.team.broadcast_parameters(self.family.nets.values())
        self.team.sync_gradients(self.family.opts.values())
        self.family.autocast = lambda: autocast(self.device, self.precision)
        enable_fast_math(self.device)

    # -- set-up -----------------------------------------------------------------------------------
    def _pick_precision(self) -> None:
        """The precision of this run (``device.pick_precision``), after every input has been checked and the
        data opened, so that a bad input is answered before any probe; the decision goes to config.json's
        facts and the start line, never to a line of its own."""
        probe = precision_probe(self.cfg, tuple(self.data.shape), self.data.num_classes, self.device)
        choice = pick_precision(self.cfg.precision, self.device, probe)
        if self.cfg.precision == "auto":  # every process votes, and all compute in the same precision
            everyone = self.team.unanimous(choice.value == "bf16", self.device)
            if choice.value == "bf16" and not everyone:
                choice = Precision("fp32", "auto", "another process of this run measured bf16 slower")
        self.precision, self.precision_choice = choice.value, choice

    def _fit_batch(self) -> dict | None:
        """The preset's batch sized to this machine (``sizing.resolve``): for a new run on one process."""
        from .sizing import resolve

        return resolve(
            self.cfg,
            tuple(self.data.shape),
            self.data.num_classes,
            self.device,
            lambda: autocast(self.device, self.precision),
            self.echo,
            new_run=not self.resume and not self.team.distributed,
        )

    def _facts(self) -> dict[str, Any]:
        d = self.data
        return {
            "shape": list(d.shape),
            "num_classes": d.num_classes,
            "class_names": list(d.class_names),
            "conditional": self.family.conditional,
            "data_name": d.name,
            "data_size": len(d),
            "data_fingerprint": d.fingerprint,
            "drawlab_version": __version__,
            "torch_version": torch.__version__,
            "processes": self.team.world,
            "precision": self.precision_choice.to_dict() if self.precision_choice else None,
            **({"sized_to_machine": self.sized} if self.sized else {}),
            **({"nan_rollbacks": self.rollbacks} if self.rollbacks else {}),
        }

    def _setup_run(self) -> None:
        if not self.team.main:  # reads only: rank 0 creates the run and writes it
            return self._join_run()
        if self.resume:
            saved, facts = self.run.read_config()
            same_run(saved, self.cfg)
            self.rollbacks = list(facts.get("nan_rollbacks", []))
            ck = self.run.latest_checkpoint()
            if ck is not None:
                self.run.load_weights(self.family, ck)
                state = self.run.load_state(self.family, ck)
                self._restore(state)
            if facts.get("data_fingerprint") != self.data.fingerprint:  # kept, not overwritten: evaluate says so
                was = {k: facts.get(k) for k in ("data_name", "data_size", "data_fingerprint")}
                facts["data_history"] = [*facts.get("data_history", []), {**was, "until_step": self.step}]
                self.echo(
                    f"drawlab: warning: the data changed since this run started ({was['data_name']}, "
                    f"{was['data_size']} images -> {self.data.name}, {len(self.data)}): from step {self.step} "
                    "it learns from the new data; config.json keeps the history (facts.data_history)"
                )
            self.run.write_config(self.cfg, {**facts, **self._facts()})
            trim_jsonl(self.run.metrics, self.step)
            self.run.clear_after(self.step)  # what a hard stop left past the checkpoint resumed from
        else:
            self.run.create(self.cfg, self._facts())
        n, z_dim, k = self.cfg.grid_n, self.cfg.model.z_dim, self.family.num_classes
        noise = self.run.load_fixed_noise(n, z_dim, k)
        if noise is None:  # new, or absent / damaged: the same seeded noise again
            noise = seeded_noise(n, z_dim, self.cfg.seed + 1), balanced_labels(n, k)
            self.run.save_fixed_noise(*noise)
        self.fixed_z, self.fixed_y = noise[0].to(self.device), noise[1].to(self.device)

    def _join_run(self) -> None:
        """Another process of a data-parallel run: the newest checkpoint's weights and state, if resuming."""
        ck = self.run.latest_checkpoint() if self.resume else None
        if ck is not None:
            self.run.load_weights(self.family, ck)
            self._restore(self.run.load_state(self.family, ck))
        n = self.cfg.grid_n
        self.fixed_z = seeded_noise(n, self.cfg.model.z_dim, self.cfg.seed + 1).to(self.device)
        self.fixed_y = balanced_labels(n, self.family.num_classes).to(self.device)

    def _observers(self, probe) -> list[Observer]:
        """The watchers of this run (see events.py): watchdog and D monitor for adversarial families,
        the in-training evaluation when asked for, and the pictures at the end."""
        obs: list[Observer] = [NanGuard(self.cfg.on_nan)]  # first: a rollback precedes what others make of NaN
        if self.family.adversarial:
            target = self._length_in_steps()  # a short run may say "D wins" after a quarter of it
            wins = D_WINS_STEPS if target is None else min(D_WINS_STEPS, max(1, target // 4))
            obs += [
                Watchdog(self._real_diversity(), self.cfg.model, self.family.readout, d_wins_steps=wins),
                DMonitor(self.cfg.monitor_every),
            ]
        if probe is not None:
            obs.append(EvalProbe(probe, self.cfg.eval_every))
        if getattr(self.family, "reconstructs", False):
            obs.append(Reconstructions())
        if getattr(self.family, "multiscale", False):
            obs.append(Scales())
        return obs + [Snapshots(), Pictures()]

    @property
    def watchdog(self) -> Watchdog | None:
        return self.observers.find(Watchdog)

    @property
    def probe(self):
        ev = self.observers.find(EvalProbe)
        return ev.probe if ev else None

    def verdicts(self) -> list[Verdict]:
        """The findings recorded in this run so far."""
        return verdicts_file.read(self.run.monitor / "verdicts.jsonl")

    def verdict(self, v: Verdict) -> None:
        """Say a finding as a warning and record it in the run."""
        self.echo(f"drawlab: warning: {v.line()}")
        verdicts_file.record(self.run.monitor / "verdicts.jsonl", v)

    def _real_diversity(self) -> float:
        """``diversity`` of real images with the fixed grid's label mix: what the grid's should be near."""
        g = torch.Generator().manual_seed(self.cfg.seed)
        labels = self.fixed_y.cpu() if self.family.conditional and self.data.labels is not None else None
        if labels is None:
            idx = torch.randperm(len(self.data), generator=g)[: len(self.fixed_z)]
        else:
            idx = torch.cat(
                [
                    (self.data.labels == k)
                    .nonzero()
                    .flatten()[
                        torch.randperm(int((self.data.labels == k).sum()), generator=g)[: int((labels == k).sum())]
                    ]
                    for k in labels.unique().tolist()
                ]
            )
            labels = self.data.labels[idx]
        images = torch.stack([self.data.load_item(int(i))[0] for i in idx])
        return diversity(images, labels)

    def _restore(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.elapsed = float(state.get("elapsed", 0.0))
        was = int(state.get("processes", 1))
        if was != self.team.world:
            self.echo(
                f"note: this run was trained by {was} process(es) and continues on {self.team.world}: the same "
                f"global batch ({self.cfg.batch_size}), so the same data and noise; sums may round differently "
                "and BatchNorm statistics are per process"
            )
        self.family.steps_done = self.step
        for opt in self.family.opts.values():  # a run captured on a GPU resumes anywhere
            for group in opt.param_groups:
                group["capturable"] = False
        self.rng_cpu.set(state["rng_cpu"])
        saved = state["rng_train"]
        if saved.numel() == self.gen.get_state().numel():
            self.gen.set_state(saved)
        else:  # the run moved between CPU and GPU: their generators' states do not translate
            self.gen.manual_seed(self.cfg.seed * 1_000_003 + self.step)
            self.echo(
                f"note: resuming on {self.device.type}, not the device this run was saved on: "
                "training noise continues from a fresh seed (same weights and optimizers)"
            )

    def _state(self) -> dict[str, Any]:
        return {
            "elapsed": self.elapsed,
            "rng_cpu": self.rng_cpu.get(),
            "rng_train": self.gen.get_state().cpu(),
            "precision": self.precision,
            "processes": self.team.world,
        }

    # -- targets ----------------------------------------------------------------------------------
    def _length_in_steps(self) -> int | None:
        if self.cfg.steps is not None:
            return self.cfg.steps
        if self.cfg.epochs is not None:
            return self.cfg.epochs * self.batches.steps_per_epoch
        return None

    def target_steps(self) -> int | None:
        """The run's total steps, or None when it is limited by minutes only."""
        steps = self._length_in_steps()
        if steps is None and self.cfg.minutes is None:
            raise ConfigError("no training length: give --steps, --epochs or --minutes")
        return steps

    def _done(self, target: int | None) -> bool:
        if target is not None:
            return self.step >= target
        return self.elapsed >= self.cfg.minutes * 60

    def _every(self, explicit: int | None, target: int | None) -> int:
        spe = self.batches.steps_per_epoch
        if explicit:
            return max(1, explicit)
        if target is not None:
            return max(1, min(spe, target), math.ceil(target / 40))
        return max(spe, 200)

    # -- outputs ----------------------------------------------------------------------------------
    def write_grid(self) -> Path | None:
        """Sample grid from the fixed noise -> samples/step-NNNNNNN.png (and TensorBoard); emits ``grid``.
        Rank 0 alone draws it (None elsewhere)."""
        if not self.team.main:
            return None
        imgs = to_uint8(self.family.generate(self.fixed_z, self.fixed_y)).cpu()
        arr = grid_array(imgs, nrow=10)
        path = save_png(arr, self.run.samples / f"step-{self.step:07d}.png")
        self.logger.add_image("samples/fixed_noise", arr, self.step)
        self.observers.emit(Event.GRID, self, imgs, path)
        return path

    def _step_function(self):
        """``family.train_step`` with this run's generator, as a CUDA graph when asked for on a GPU."""
        step = (
            cuda_graph.GraphedStep(self.family, self.gen)
            if self.graphs
            else lambda x, y: self.family.train_step(x, y, self.gen)
        )
        if faults.planned("nan"):  # testing aid (DRAWLAB_FAULT=nan@STEP): that step's batch becomes NaN
            return lambda x, y: step(x * float("nan") if faults.nan_at(self.step + 1) else x, y)
        return step

    def save(self) -> Path | None:
        """Write a checkpoint of this step; emits ``checkpoint``. Rank 0 alone writes it (None elsewhere)."""
        if not self.team.main:
            return None
        guard = self.observers.find(NanGuard)
        if guard is not None and not guard.check_weights(self):  # never a checkpoint with NaN in it
            return None
        path = self.run.save_checkpoint(self.family, self.step, self._state(), self.cfg.keep_checkpoints).weights
        self.observers.emit(Event.CHECKPOINT, self)
        self.logger.reset_clock()
        return path

    # -- the loop ---------------------------------------------------------------------------------
    def release(self) -> None:
        """Let another process train this run (done by ``train`` when it ends, however it ends)."""
        if getattr(self, "_lock", None) is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    __del__ = release

    def train(self) -> TrainResult:
        """Train to the target (see ``_train``), then release the run directory's lock; the caller's global random
        state is as it was."""
        try:
            with self.rng_cpu:
                return self._train()
        finally:
            self.release()

    def _train(self) -> TrainResult:
        """Each step: a batch, the family's step, then the events it triggers (log, grid, checkpoint,
        epoch end) for the observers; at the end, a last grid and checkpoint."""
        target = self.target_steps()
        spe = self.batches.steps_per_epoch
        if self._done(target):
            return TrainResult(
                self.run.path, self.step, self.step / spe, self.elapsed, 0.0, None, None, already_done=True
            )
        grid_every = self._every(self.cfg.sample_every, target)
        ckpt_every = self._every(self.cfg.checkpoint_every, target) if self.cfg.checkpoint_every else grid_every
        self._announce()
        main = self.team.main
        self.logger = MetricsLogger(
            self.run.metrics if main else None,
            self.run.tensorboard if main else None,
            self.cfg.batch_size,
            purge_step=self.step + 1 if self.resume else None,
            reduce=self.team.mean if self.team.distributed else None,
        )
        self.observers.emit(Event.START, self)
        bar = progress_bar(self.progress, target, self.step, self.cfg.minutes)
        start_step, t_start = self.step, time.perf_counter()
        last_grid, last_rec, interrupted = None, None, False
        self._batch_iter, self._step_fn = self.batches.iterate(self.step), self._step_function()
        with StopFlag() as stop:
            while True:
                done, stopping = self.team.agree(self._done(target), stop.requested, self.device)
                if done or stopping:
                    interrupted = stopping
                    break
                t0 = time.perf_counter()
                x, y = next(self._batch_iter)
                if self.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                self.logger.add(self._step_fn(x, y))
                self.step += 1
                self.elapsed += time.perf_counter() - t0
                bar.update(1)
                if self.step % self.cfg.log_every == 0:
                    last_rec = self.logger.flush(self.step, self.step / spe)
                    bar.set_postfix_str(postfix(last_rec))
                    if last_rec:
                        self.observers.emit(Event.LOG, self, last_rec)
                if self.step % grid_every == 0:
                    last_grid = self.write_grid()
                if self.step % ckpt_every == 0:
                    self.save()
                if self.step % spe == 0:
                    self.observers.emit(Event.EPOCH_END, self, self.step // spe)
                self.observers.emit(Event.STEP, self)
        bar.close()
        last_rec = self.logger.flush(self.step, self.step / spe) or last_rec
        if self.team.main and (last_grid is None or not last_grid.name.endswith(f"{self.step:07d}.png")):
            last_grid = self.write_grid()
        ck = self.save()
        wall = time.perf_counter() - t_start
        ips = (self.step - start_step) * self.cfg.batch_size / max(wall, 1e-9)
        res = TrainResult(self.run.path, self.step, self.step / spe, self.elapsed, ips, last_grid, ck, interrupted)
        self.observers.emit(Event.FINISH, self, res)
        self.logger.close()
        self.echo(summary_line(res, last_rec, getattr(self.family, "readout", None)))
        self.team.finish()
        return res

    def rollback(self, what: str, lr_factor: float) -> None:
        """Back to the newest checkpoint after non-finite numbers (``what``), learning rates x ``lr_factor``;
        recorded in config.json (facts.nan_rollbacks, model.lr_g/lr_d) and metrics.jsonl. See nan_guard.py."""
        ck = self.run.latest_checkpoint()
        if ck is None:
            raise NumericsError(
                f"training diverged: {what}, before the first checkpoint: lower the learning "
                "rates (--lr-g/--lr-d) or checkpoint sooner (--checkpoint-every)"
            )
        bad_step = self.step
        self.run.load_weights(self.family, ck)
        self._restore(self.run.load_state(self.family, ck))
        m = self.cfg.model
        m.lr_g, m.lr_d = m.lr_g * lr_factor, m.lr_d * lr_factor
        for _name, opt in self.family.opts.items():
            for group in opt.param_groups:
                group["lr"] *= lr_factor
        self.rollbacks.append({"at_step": bad_step, "to_step": self.step, "why": what, "lr_g": m.lr_g, "lr_d": m.lr_d})
        self.logger.discard()  # the running means of the diverged steps
        trim_jsonl(self.run.metrics, self.step)
        self.run.clear_after(self.step)
        append_jsonl(
            self.run.metrics, {"step": self.step, "event": "nan-rollback", "time": time.time(), **self.rollbacks[-1]}
        )
        _, facts = self.run.read_config()
        self.run.write_config(self.cfg, {**facts, **self._facts()})
        self._batch_iter, self._step_fn = self.batches.iterate(self.step), self._step_function()
        self.echo(
            f"drawlab: warning: {what}: rolled back to step {self.step} (the newest checkpoint) and "
            f"multiplied the learning rates by {lr_factor} (lr_g {m.lr_g:.3g}, lr_d {m.lr_d:.3g}); "
            f"rollback {len(self.rollbacks)}"
        )

    def _announce(self) -> None:
        if len(self.data) < SMALL_DATASET:
            self.echo(
                f"drawlab: warning: only {len(self.data)} training images: GANs tend to memorise or collapse on so few; "
                "watch the sample grids, and prefer more data or image augmentation"
            )
        self.echo(
            f"training {self.family.name} on {self.data.name} {tuple(self.data.shape)} x {len(self.data)} | "
            f"{describe(self.device)}, {self.precision} ({self.precision_choice.why}) | run: {self.run.path}"
        )
