"""CUDA graphs for the training step: on by default on one GPU when the step allows it
(``decide``), forced with `--cuda-graphs`, off with `--no-cuda-graphs`.

The small networks here are bound by kernel launches on a GPU: one captured step replays every
kernel of a D update, a G update and the EMA in a single launch. Capture happens once, after a few
eager warm-up steps (so the optimizers' state exists); each later step copies the batch into the
graph's input tensors, sets the EMA's weight for this step (it ramps up: a tensor on the device, not a
number baked into the graph) and replays. Same arithmetic as eager steps.
"""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..errors import ConfigError
from ..models import Family, FamilyContext

WARMUP_STEPS = 3  # eager steps before capture (the last one on a side stream, as CUDA graphs need)
STEPWISE_TRICKS = ("d_pretrain_steps", "swap_real_fraction", "instance_noise")  # change the step as training goes


def decide(cfg: TrainConfig, device_type: str, processes: int) -> tuple[bool, str]:
    """(replay the step as one CUDA graph?, why) for ``cfg.cuda_graphs``: None = on when the step allows it
    (a CUDA device, one process, no trick that changes the step as training goes on); True = required
    (a ConfigError saying why not where it cannot be); False = off."""
    stepwise = [k for k in STEPWISE_TRICKS if getattr(cfg.model, k)]
    if device_type != "cuda":
        why, hint = f"needs a CUDA device, but this run is on {device_type}", "drop --cuda-graphs or use --device cuda"
    elif processes > 1:
        why, hint = "is for one process, and this run has several (torchrun)", "drop --cuda-graphs under torchrun"
    elif stepwise:
        why = f"cannot capture a step that --{stepwise[0].replace('_', '-')} changes as training goes on"
        hint = "drop --cuda-graphs or the trick"
    else:
        return cfg.cuda_graphs is not False, (
            "off (--no-cuda-graphs)" if cfg.cuda_graphs is False else "on: the step is replayed as one CUDA graph"
        )
    if cfg.cuda_graphs:
        raise ConfigError(f"--cuda-graphs {why}: {hint}")
    return False, f"off: CUDA graphs {why}"


def make_capturable(family: Family, on: bool) -> None:
    """Switch the optimizers to (or from) CUDA-graph-safe updates (their step counters on the GPU)."""
    for opt in family.opts.values():
        for group in opt.param_groups:
            group["capturable"] = on
        if on:
            for state in opt.state.values():
                if torch.is_tensor(state.get("step")):
                    p_dev = next(iter(v for k, v in state.items() if k != "step" and torch.is_tensor(v))).device
                    state["step"] = state["step"].to(p_dev, torch.float32)


class GraphedStep:
    """Callable like ``family.train_step(x, y, gen)``: eager for the first steps, then one CUDA graph.

    It counts the replayed steps and sets each replay's EMA weight in ``context``, the FamilyContext the
    trainer gave ``family``."""

    def __init__(self, family: Family, context: FamilyContext, gen: torch.Generator, warmup: int = WARMUP_STEPS):
        self.family, self.context, self.gen = family, context, gen
        self.warmup = warmup
        self.graph: torch.cuda.CUDAGraph | None = None
        self.eager = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.graph is not None:
            self.x.copy_(x)
            self.y.copy_(y)
            self._set_ema_weight()
            self.graph.replay()
            self.context.steps_done += 1
            return self.out
        self.eager += 1
        if self.eager < self.warmup:
            return self.family.train_step(x, y, self.gen)
        make_capturable(self.family, True)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # the last eager step, on a side stream
            out = self.family.train_step(x, y, self.gen)
        torch.cuda.current_stream().wait_stream(side)
        self._capture(x, y)
        return out

    def _set_ema_weight(self) -> None:
        """The EMA weight of the step about to replay, written into the graph's device scalar."""
        ctx = self.context
        if ctx.ema_weight_on_device is not None:
            ctx.ema_weight_on_device.fill_(self.family.ema_weight(ctx.steps_done + 1, self.x.shape[0]))

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x.clone(), y.clone()
        if "G_ema" in self.family.nets:
            self.context.ema_weight_on_device = torch.zeros((), device=x.device)
        graph = torch.cuda.CUDAGraph()
        if hasattr(graph, "register_generator_state"):
            graph.register_generator_state(self.gen)
        steps_before = self.context.steps_done
        with torch.cuda.graph(graph):
            self.out = self.family.train_step(self.x, self.y, self.gen)
        self.context.steps_done = steps_before  # capture records the step; it runs at replay
        self.graph = graph
