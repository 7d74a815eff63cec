"""What builds a run: data, family, generators and the run directory (created, or reopened to resume), its
monitors, and what a checkpoint holds beside the weights (``state``/``restore``). The loop that steps it is
trainer.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .. import faults
from ..config import TrainConfig
from ..data import Batches, ImageDataset, open_configured
from ..device import Precision, autocast, enable_fast_math, machine_line, pick_device, pick_precision
from ..errors import DrawlabError
from ..files import append_jsonl, trim_jsonl
from ..latent import balanced_labels, seeded_noise
from ..models import Family, FamilyContext, build_family, get_family
from ..records import metrics_log
from ..rng import GlobalStream, make_generator
from ..run import RunDir
from ..run_lock import RunLock
from ..version import __version__
from . import cuda_graph, distributed
from .checks import check_config, same_run
from .events import Observer
from .monitors import build_monitors
from .sizing import precision_probe
from .view import Position, RunView


class RunSetup:
    """One run, built from a TrainConfig (or reopened to resume) and ready to step; holds its directory's
    lock from the set-up on until ``close`` (rank 0 only: the other processes of a data-parallel run read).

    ``cfg`` is the run's own copy: what the set-up resolves (the preset's batch, the instance-noise length)
    and what a rollback changes (the learning rates) go to config.json, never to the caller's object.
    """

    def __init__(self, cfg: TrainConfig, run_dir: str | Path, resume: bool, echo: Callable[[str], None]):
        cfg = check_config(cfg)  # a checked, resolved copy (the family's own loss): the caller's is never changed
        faults.check()
        self.cfg, self.run, self.resume = cfg, RunDir(run_dir), resume
        self.team, self.device = distributed.join(pick_device(cfg.device))
        self.echo = echo if self.team.main else (lambda s: None)  # the other processes say nothing
        self.precision: str = "fp32"
        self.precision_choice: Precision | None = None  # decided once the data is open (``_pick_precision``)
        self.graphs, why = cuda_graph.decide(cfg, self.device.type, self.team.world)
        if self.device.type == "cuda":
            self.echo(f"CUDA graphs {why}")
        self.position = Position()
        self._lock: RunLock | None = None
        self.rng_cpu = GlobalStream(cfg.seed)  # torch's global CPU generator, as this run's own: never the caller's
        try:
            with self.rng_cpu:
                self._build()
        except BaseException:
            self.close()
            raise

    @property
    def step(self) -> int:
        return self.position.step

    def close(self) -> None:
        """Let another process train this run (the lock on its directory); safe to call again."""
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    # -- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        cfg = self.cfg
        self.data: ImageDataset = open_configured(cfg.data)
        cfg.model.z_dim = get_family(cfg.model.name).latent_dim(cfg.model, self.data.shape)  # flow: C*H*W
        self._pick_precision()
        self.sized = self._fit_batch()
        self.context = FamilyContext(processes=self.team.world, autocast=lambda: autocast(self.device, self.precision))
        self.family: Family = build_family(cfg.model, self.data.shape, self.data.num_classes, self.context)
        self.channels_last = cfg.channels_last and self.family.has_conv
        self.batches = Batches(
            self.data, cfg.batch_size, cfg.seed, self.device, rank=self.team.rank, world=self.team.world
        )
        self.context.steps_per_epoch = self.batches.steps_per_epoch  # known once the batches are
        if cfg.model.instance_noise > 0 and cfg.model.instance_noise_steps is None:
            cfg.model.instance_noise_steps = self.length_in_steps() or 1000  # resolved once, kept in config.json
        self.gen = make_generator(self.device, self.team.rank, self.team.world)  # the same on every process
        self.gen.manual_seed(cfg.seed)
        fixed = self._fixed_noise()
        self.view = RunView(
            cfg,
            self.family,
            self.data,
            self.run,
            self.device,
            self.position,
            self.batches.steps_per_epoch,
            self.length_in_steps(),
            (fixed[0].to(self.device), fixed[1].to(self.device)),
            self.echo,
        )
        # before the run directory is touched: a monitor's bad input (--eval-n) is said before anything is written
        self.monitors: list[Observer] = build_monitors(self.view) if self.team.main else []
        if self.team.main:
            self._lock = self.run.lock().__enter__()  # one trainer per run
            self._open_run(fixed)
        else:
            self._join_run()
        self.family.to(self.device, self.channels_last)
        self.team.broadcast_parameters(self.family.nets.values())
        self.team.sync_gradients(self.family.opts.values())
        enable_fast_math(self.device)

    def _pick_precision(self) -> None:
        """The precision of this run (``device.pick_precision``), after every input has been checked and the
        data opened, so that a bad input is answered before any probe; the decision goes to config.json's
        facts and the start line, never to a line of its own. A resume under ``auto`` computes in the
        precision the run started in (config.json's facts), so that it continues with the same numbers."""
        kept = self._precision_at_start() if self.resume and self.cfg.precision == "auto" else None
        if kept is not None:
            self.precision, self.precision_choice = kept.value, kept
            return
        probe = precision_probe(self.cfg, self.data.shape, self.data.num_classes, self.device)
        choice = pick_precision(self.cfg.precision, self.device, probe)
        if self.cfg.precision == "auto":  # every process votes, and all compute in the same precision
            everyone = self.team.unanimous(choice.value == "bf16", self.device)
            if choice.value == "bf16" and not everyone:
                choice = Precision("fp32", "auto", "another process of this run measured bf16 slower")
        self.precision, self.precision_choice = choice.value, choice

    def _precision_at_start(self) -> Precision | None:
        """The precision ``auto`` chose when this run started (config.json's facts), if it says."""
        try:
            _, facts = self.run.read_config()
        except DrawlabError:  # said in full where the resume reads it (``_open_run``)
            return None
        was = facts.get("precision") or {}
        if was.get("value") not in ("fp32", "bf16"):
            return None
        why = f"as when this run started ({was.get('why', 'auto')}); a resume keeps its precision"
        return Precision(str(was["value"]), "auto", why, was.get("speedup"))

    def _fit_batch(self) -> dict | None:
        """The preset's batch sized to this machine (``sizing.resolve``): for a new run on one process."""
        from .sizing import resolve

        return resolve(
            self.cfg,
            self.data.shape,
            self.data.num_classes,
            self.device,
            lambda: autocast(self.device, self.precision),
            self.echo,
            new_run=not self.resume and not self.team.distributed,
        )

    def _fixed_noise(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed grid noise: the run's file when resuming and it is sound, else made from the seed."""
        n, z_dim, k = self.cfg.grid_n, self.cfg.model.z_dim, self.family.num_classes
        kept = self.run.load_fixed_noise(n, z_dim, k) if self.resume and self.team.main else None
        self._noise_kept = kept is not None
        return kept if kept is not None else (seeded_noise(n, z_dim, self.cfg.seed + 1), balanced_labels(n, k))

    def facts(self) -> dict[str, Any]:
        """What config.json records beside the config (``facts``)."""
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
            "machine": machine_line(self.device),
            "processes": self.team.world,
            "precision": self.precision_choice.to_dict() if self.precision_choice else None,
            **({"sized_to_machine": self.sized} if self.sized else {}),
            **({"nan_rollbacks": self.position.rollbacks} if self.position.rollbacks else {}),
        }

    def _open_run(self, fixed: tuple[torch.Tensor, torch.Tensor]) -> None:
        """Rank 0: create the run directory, or reopen it at its newest checkpoint to resume."""
        if self.resume:
            saved, facts = self.run.read_config()
            same_run(saved, self.cfg)
            self.position.rollbacks = list(facts.get("nan_rollbacks", []))
            ck = self.run.latest_checkpoint()
            if ck is not None:
                self.run.load_weights(self.family, ck)
                self.restore(self.run.load_state(self.family, ck))
            if facts.get("data_fingerprint") != self.data.fingerprint:  # kept, not overwritten: evaluate says so
                self._data_changed(facts)
            self.run.write_config(self.cfg, {**facts, **self.facts()})
            trim_jsonl(self.run.metrics, self.step)
            self.run.clear_after(self.step)  # what a hard stop left past the checkpoint resumed from
        else:
            self.run.create(self.cfg, self.facts())
        if not self._noise_kept:  # new, or absent / damaged: the same seeded noise again
            self.run.save_fixed_noise(*fixed)

    def _data_changed(self, facts: dict[str, Any]) -> None:
        was = {k: facts.get(k) for k in ("data_name", "data_size", "data_fingerprint")}
        facts["data_history"] = [*facts.get("data_history", []), {**was, "until_step": self.step}]
        self.echo(
            f"drawlab: warning: the data changed since this run started ({was['data_name']}, "
            f"{was['data_size']} images -> {self.data.name}, {len(self.data)}): from step {self.step} "
            "it learns from the new data; config.json keeps the history (facts.data_history)"
        )

    def _join_run(self) -> None:
        """Another process of a data-parallel run: the newest checkpoint's weights and state, if resuming."""
        ck = self.run.latest_checkpoint() if self.resume else None
        if ck is not None:
            self.run.load_weights(self.family, ck)
            self.restore(self.run.load_state(self.family, ck))

    # -- what a checkpoint holds beside the weights ---------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "elapsed": self.position.elapsed,
            "rng_cpu": self.rng_cpu.get(),
            "rng_train": self.gen.get_state().cpu(),
            "precision": self.precision,
            "processes": self.team.world,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's state: step, time, generators (the family's weights and optimizers
        are loaded by RunDir)."""
        self.position.step = int(state["step"])
        self.position.elapsed = float(state.get("elapsed", 0.0))
        was = int(state.get("processes", 1))
        if was != self.team.world:
            self.echo(
                f"note: this run was trained by {was} process(es) and continues on {self.team.world}: the same "
                f"global batch ({self.cfg.batch_size}), so the same data and noise; sums may round differently "
                "and BatchNorm statistics are per process"
            )
        self.context.steps_done = self.step
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

    def roll_back(self, what: str, lr_factor: float) -> dict[str, Any] | None:
        """Back to the newest checkpoint, learning rates x ``lr_factor``; recorded in config.json
        (facts.nan_rollbacks, model.lr_g/lr_d) and metrics.jsonl. Returns the rollback's record, or None when
        there is no checkpoint to go back to."""
        ck = self.run.latest_checkpoint()
        if ck is None:
            return None
        bad_step = self.step
        self.run.load_weights(self.family, ck)
        self.restore(self.run.load_state(self.family, ck))
        m = self.cfg.model
        m.lr_g, m.lr_d = m.lr_g * lr_factor, m.lr_d * lr_factor
        for opt in self.family.opts.values():
            for group in opt.param_groups:
                group["lr"] *= lr_factor
        done = {"at_step": bad_step, "to_step": self.step, "why": what, "lr_g": m.lr_g, "lr_d": m.lr_d}
        self.position.rollbacks.append(done)
        trim_jsonl(self.run.metrics, self.step)
        self.run.clear_after(self.step)
        append_jsonl(self.run.metrics, metrics_log.event_record(self.step, metrics_log.NAN_ROLLBACK, **done))
        _, facts = self.run.read_config()
        self.run.write_config(self.cfg, {**facts, **self.facts()})
        return done

    # -- length ---------------------------------------------------------------------------------------
    def length_in_steps(self) -> int | None:
        """The run's total steps (``--steps``, or ``--epochs`` in steps), or None when limited by minutes."""
        if self.cfg.steps is not None:
            return self.cfg.steps
        if self.cfg.epochs is not None:
            return self.cfg.epochs * self.batches.steps_per_epoch
        return None
