"""Ablation of the GAN stabilising tricks of `drawlab train`, each at the same CPU budget.

What it measures: for each model (mnist-dcgan, mnist-cgan presets on mnist-5k, their own recipes)
and each configuration (baseline; --d-pretrain-steps 100; --g-steps 2; --swap-real-fraction 0.2
--swap-until-epoch 5; --flip-labels 0.05; --instance-noise 0.1; --label-smoothing 0.1), it trains
one run per seed, scores it with `drawlab evaluate RUN --n 2500` (FID, precision, recall, coverage,
modes, conditional accuracy, each beside its real-data floor) and writes a Markdown table of the
means over the seeds, with each seed's FID and the FID change against the model's baseline
(OUT/ablation.md, raw numbers in OUT/ablation.json).

How the budget is converted: "--minutes M CPU minutes" means M minutes of training with 2 threads
on this machine, quiet. Before any long run, each (model, config) is timed, one process at a time,
with 2 threads: the real `drawlab train` loop (same options) runs with a per-step clock, and whole
epochs (each with its grid, checkpoint and D-monitor step, as in the real runs) count only when no
other process used the CPUs meanwhile (from /proc/stat) and the process was not paused; attempts
repeat until enough quiet epochs are seen. Every config is timed in 3 interleaved rounds and the
median is kept, so that a slow spell of the machine does not fall on one config. Its seconds per
step t give the step budget N = round(60 M / t) = round(60 M * img_per_s / 128); with
--d-pretrain-steps P, whose first P steps train D alone and are cheaper, N = P + round((60 M -
P t_pre) / t). The speeds are saved in OUT/speeds.json. The long runs are then limited by
--steps N, so CPU contention, pauses (SIGSTOP) and running two 1-thread processes side by side
change only the wall time, never the result.

Restartable: a run whose latest checkpoint has reached its N is skipped, an interrupted one is
continued with `drawlab train --resume DIR --steps N`, an evaluated one is not evaluated again, and
measured speeds are reused.

    .venv/bin/python benchmarks/ablation.py --out /tmp/ablation
    .venv/bin/python benchmarks/ablation.py --minutes 0.05 --seeds 0 --models dcgan --configs baseline flip \
        --out /tmp/ablation-smoke     # smoke test
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import fcntl
import json
import math
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
DRAWLAB = str(BIN / "drawlab") if (BIN / "drawlab").exists() else None
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable

MODELS = {"dcgan": "mnist-dcgan", "cgan": "mnist-cgan"}
DATA = "mnist-5k"
BATCH = 128                     # both presets' batch size (not overridden)
EVAL_N = 2500
CONFIGS: dict[str, list[str]] = {
    "baseline": [],
    "d-pretrain": ["--d-pretrain-steps", "100"],
    "g-steps2": ["--g-steps", "2"],
    "swap": ["--swap-real-fraction", "0.2", "--swap-until-epoch", "5"],
    "flip": ["--flip-labels", "0.05"],
    "inst-noise": ["--instance-noise", "0.1"],
    "smooth": ["--label-smoothing", "0.1"],
}
# the speed measurement
QUIET_FOREIGN = 0.10            # an epoch counts when other processes used < this many cores on average during it,
QUIET_STEP = 0.5                # < this many during each of its steps,
QUIET_OWN = 0.5                 # and the timed process itself ran (>= this many cores in each step: not paused)
PHASE_WARMUP = 5                # the first steps after --d-pretrain-steps ends are not timed (nor the first epoch)
ROUNDS = 3                      # every config is timed once per round, rounds interleaved: median over rounds
EPOCHS_MAIN, EPOCHS_PRE = 2, 1  # quiet epochs wanted per config and round (D-only phase: 1)
MAX_ATTEMPT_S = 240             # one timing process at most this long
MAX_ATTEMPTS = 8                # per config and round
QUIET_WAIT_S = 20               # seconds of idle machine before each timing process starts
QUIET_MAX_WAIT_S = 1800        # ...waiting at most this long

# Runs inside the timing subprocess: the `drawlab train` path (same parser, config and Trainer), with a
# clock observer that records each step's wall time, the machine's busy jiffies and the process's CPU
# time. Whole epochs are timed (each holds one grid + checkpoint + D-monitor step, as in the real runs),
# and the run stops once enough quiet epochs are timed.
HARNESS = r"""
import json, os, sys, time
from drawlab.cli import build_parser, config_from_args
from drawlab.training import Trainer
from drawlab.training.events import Observer
import torch

out_json, pretrain, need_main, need_pre, max_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
phase_warm, q_foreign, q_step, q_own = int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9])
argv = sys.argv[10:]
HZ = os.sysconf("SC_CLK_TCK")

class Enough(Exception):
    pass

def machine():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v), v[3] + v[4]          # all jiffies, idle + iowait jiffies

class Clock(Observer):
    def __init__(self, spe):
        self.spe, self.rows, self.epochs, self.prev, self.n = spe, [], [], None, {"pre": 0, "main": 0}
    def mark(self, step):
        tot, idle = machine()
        c = os.times()
        now = (step, time.time(), time.perf_counter(), tot, idle, c.user + c.system)
        if self.prev is not None:
            p = self.prev
            self.rows.append({"step": step, "t0": p[1], "t1": now[1], "dt": now[2] - p[2],
                              "busy": ((now[3] - p[3]) - (now[4] - p[4])) / HZ, "own": now[5] - p[5]})
        self.prev = now
        if step > 0 and step % self.spe == 0:
            self.epoch(step // self.spe)
        if self.n["main"] >= need_main and (pretrain == 0 or self.n["pre"] >= need_pre):
            raise Enough()
        if time.perf_counter() - self.start > max_s:
            raise Enough()
    def epoch(self, e):
        lo, hi = (e - 1) * self.spe + 1, e * self.spe
        rows = [r for r in self.rows if lo <= r["step"] <= hi]
        if e < 2 or len(rows) != self.spe:
            return
        if hi <= pretrain:
            phase = "pre"
        elif lo > pretrain + (phase_warm if pretrain else 0):
            phase = "main"
        else:
            return
        dt = sum(r["dt"] for r in rows)
        foreign = max(0.0, sum(r["busy"] - r["own"] for r in rows)) / dt
        worst = max(max(0.0, r["busy"] - r["own"]) / max(r["dt"], 1e-9) for r in rows)
        own_min = min(r["own"] / max(r["dt"], 1e-9) for r in rows)
        quiet = foreign < q_foreign and worst < q_step and own_min >= q_own
        self.epochs.append({"epoch": e, "phase": phase, "s_per_step": dt / self.spe, "foreign": round(foreign, 3),
                            "worst_step_foreign": round(worst, 3), "own_min": round(own_min, 3), "quiet": quiet,
                            "t0": rows[0]["t0"], "t1": rows[-1]["t1"]})
        if quiet:
            self.n[phase] += 1
    def on_start(self, t):
        self.start = time.perf_counter()
        self.mark(t.step)
    def on_step(self, t):
        self.mark(t.step)

a = build_parser().parse_args(["train", *argv])
cfg = config_from_args(a)
tr = Trainer(cfg, a.out, progress=False)
clock = Clock(tr.batches.steps_per_epoch)
tr.observers.items.insert(0, clock)
try:
    tr.train()
except Enough:
    pass
json.dump({"epochs": clock.epochs, "steps": len(clock.rows), "steps_per_epoch": clock.spe,
           "threads": torch.get_num_threads()}, open(out_json, "w"))
"""


# ---------------------------------------------------------------------------------------------- utils
def log(msg: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}", flush=True)


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown"


def thread_env(n: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n),
               PYTHONUNBUFFERED="1")
    return env


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when this script dies (drawlab then saves a checkpoint and exits)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # noqa: BLE001 - not Linux: the lock file still stops a second instance
        pass


def drawlab_cmd(*args: str) -> list[str]:
    return [DRAWLAB, *args] if DRAWLAB else [PYTHON, "-m", "drawlab", *args]


def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def latest_step(run: Path) -> int | None:
    """The step of the run's newest complete checkpoint, or None."""
    ck = run / "checkpoints"
    d = read_json(ck / "latest.json")
    try:
        if d and (ck / d["weights"]).is_file() and (ck / d["state"]).is_file():
            return int(d["step"])
    except (KeyError, TypeError, ValueError):
        pass
    steps = []
    for p in ck.glob("step-*.safetensors"):
        try:
            if p.with_name(p.name.replace(".safetensors", ".state.pt")).is_file():
                steps.append(int(p.name[5:-12]))
        except ValueError:
            pass
    return max(steps) if steps else None


def last_logged_step(run: Path) -> int | None:
    try:
        with open(run / "metrics.jsonl", "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4096))
            lines = f.read().decode(errors="replace").splitlines()
        for line in reversed(lines):
            try:
                return int(json.loads(line)["step"])
            except (ValueError, KeyError, TypeError):
                continue
    except OSError:
        pass
    return None


class Machine:
    """Busy cores of the whole machine from /proc/stat."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK")
        self.prev = self._read()

    @staticmethod
    def _read():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return time.monotonic(), sum(v), v[3] + v[4]

    def busy_cores(self) -> float:
        """Cores busy since the last call (all processes)."""
        now = self._read()
        t, tot, idle = (now[i] - self.prev[i] for i in range(3))
        self.prev = now
        return ((tot - idle) / self.hz) / max(t, 1e-9)


# ----------------------------------------------------------------------------------------- speeds
def wait_quiet(max_wait: float, need: int = QUIET_WAIT_S) -> bool:
    """Wait until the machine has been idle (< QUIET_FOREIGN cores busy) for ``need`` seconds in a row
    (long enough not to start in the gap between two of another user's timed jobs)."""
    m, calm, t0, next_say = Machine(), 0, time.monotonic(), 20.0
    while time.monotonic() - t0 < max_wait:
        time.sleep(1.0)
        calm = calm + 1 if m.busy_cores() < QUIET_FOREIGN else 0
        if calm >= need:
            return True
        if time.monotonic() - t0 > next_say:
            log(f"  speed: waiting for a quiet machine (other processes are using the CPUs; "
                f"{(time.monotonic() - t0) / 60:.0f} min so far)")
            next_say += 300
    return False


def proc_state(pid: int) -> str | None:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def pretrain_of(config: str) -> int:
    a = CONFIGS[config]
    return int(a[a.index("--d-pretrain-steps") + 1]) if "--d-pretrain-steps" in a else 0


def time_config(out: Path, model: str, config: str, threads: int, label: str) -> dict:
    """One timing of (model, config) at ``threads`` threads: quiet whole epochs of the real training loop
    (repeated attempts until EPOCHS_MAIN (and EPOCHS_PRE) quiet epochs are seen)."""
    pretrain = pretrain_of(config)
    pooled: dict[str, list[float]] = {"pre": [], "main": []}
    attempts, last_rec_ips = [], None
    work = out / "speed-runs"
    work.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if len(pooled["main"]) >= EPOCHS_MAIN and (pretrain == 0 or len(pooled["pre"]) >= EPOCHS_PRE):
            break
        if not wait_quiet(QUIET_MAX_WAIT_S):
            log(f"  speed: the machine stayed busy for {QUIET_MAX_WAIT_S // 60} minutes; timing anyway "
                "(busy epochs are not counted)")
        run = work / f"{model}-{config}-t{threads}-{label}-a{attempt}"
        shutil.rmtree(run, ignore_errors=True)
        res = work / f"{run.name}.json"
        res.unlink(missing_ok=True)
        cap = pretrain + 400     # a length that gives the same grid/checkpoint cadence (every epoch) as the real runs
        cmd = [PYTHON, "-c", HARNESS, str(res), str(pretrain),
               str(max(0, EPOCHS_MAIN - len(pooled["main"]))), str(max(0, EPOCHS_PRE - len(pooled["pre"]))),
               str(MAX_ATTEMPT_S), str(PHASE_WARMUP), str(QUIET_FOREIGN), str(QUIET_STEP), str(QUIET_OWN),
               "--preset", MODELS[model], "--data", DATA, *CONFIGS[config], "--seed", "0",
               "--steps", str(cap), "--out", str(run), "--no-progress"]
        logf = open(work / f"{run.name}.log", "w")
        p = subprocess.Popen(cmd, env=thread_env(threads), stdout=logf, stderr=subprocess.STDOUT,
                             cwd=str(REPO), preexec_fn=_die_with_parent)
        stops, stopped_since = [], None
        while p.poll() is None:               # watch for SIGSTOP: epochs with a pause are not counted
            st, now = proc_state(p.pid), time.time()
            if st == "T" and stopped_since is None:
                stopped_since = now
            elif st != "T" and stopped_since is not None:
                stops.append((stopped_since - 0.2, now + 0.2))
                stopped_since = None
            time.sleep(0.1)
        if stopped_since is not None:
            stops.append((stopped_since - 0.2, time.time() + 0.2))
        logf.close()
        d = read_json(res)
        if p.returncode != 0 or d is None:
            tail = (work / f"{run.name}.log").read_text()[-2000:]
            raise RuntimeError(f"timing {model}/{config} failed (exit {p.returncode}):\n{tail}")
        if stops:
            log(f"  speed: {model}/{config} was paused {len(stops)} time(s); those epochs are not counted")
        quiet = [e for e in d["epochs"] if e["quiet"] and not any(a < e["t1"] and e["t0"] < b for a, b in stops)]
        for e in quiet:
            pooled[e["phase"]].append(e["s_per_step"])
        mpath = run / "metrics.jsonl"
        for line in mpath.read_text().splitlines() if mpath.is_file() else []:
            rec = json.loads(line)
            if "loss_g" in rec and not rec.get("monitor") and not rec.get("eval"):
                last_rec_ips = rec.get("img_per_s")
        attempts.append({"steps": d["steps"], "epochs": [{k: v for k, v in e.items() if k not in ("t0", "t1")}
                                                           for e in d["epochs"]], "paused": len(stops),
                         "threads": d["threads"]})
        log(f"  speed: {model}/{config} ({threads} thr, {label}) attempt {attempt}: {d['steps']} steps, "
            f"{len(quiet)} quiet epoch(s) of {len(d['epochs'])} timed: "
            + ", ".join(f"{e['phase']} {e['s_per_step']:.4f}{'' if e in quiet else ' (busy ' + str(e['foreign']) + ')'}"
                        for e in d["epochs"]))
        shutil.rmtree(run, ignore_errors=True)
    if not pooled["main"] or (pretrain and not pooled["pre"]):
        raise RuntimeError(f"could not time {model}/{config}: no quiet epoch in {MAX_ATTEMPTS} attempts; "
                           "run again on a quieter machine")
    r = {"s_per_step": statistics.fmean(pooled["main"]), "epochs": pooled["main"], "attempts": attempts,
         "drawlab_last_record_img_per_s": last_rec_ips, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if pretrain:
        r.update(pre_s_per_step=statistics.fmean(pooled["pre"]), pre_epochs=pooled["pre"])
    return r


def budget_steps(speed: dict, minutes: float) -> int:
    """Training steps that take ``minutes`` at the measured (2-thread, quiet) speed."""
    budget = 60.0 * minutes
    t, p = speed["s_per_step"], speed.get("d_pretrain_steps", 0)
    if p:
        t_pre = speed["pre_s_per_step"]
        if p * t_pre >= budget:
            return max(1, round(budget / t_pre))
        return p + max(0, round((budget - p * t_pre) / t))
    return max(1, round(budget / t))       # = round(60 M * img_per_s / batch)


def measure_speeds(out: Path, models: list[str], configs: list[str], speed_threads: int) -> dict:
    """Seconds per step of every (model, config) at ``speed_threads`` threads, one process at a time:
    ROUNDS interleaved rounds (forward, backward, forward order, so that a slow spell of the machine
    does not fall on one config), median over the rounds. Saved (and reused) in OUT/speeds.json."""
    path = out / "speeds.json"
    speeds = read_json(path) or {}
    speeds.setdefault("cpu", cpu_model())
    speeds.setdefault("entries", {})
    speeds["method"] = (f"seconds per training step of the real `drawlab train` loop at {speed_threads} threads, "
                        f"whole epochs (each with its grid, checkpoint and D-monitor step) during which other processes "
                        f"used < {QUIET_FOREIGN} cores; {EPOCHS_MAIN} epochs per config per round after the first epoch "
                        f"(and {EPOCHS_PRE} D-only epoch for --d-pretrain-steps), {ROUNDS} interleaved rounds, "
                        "median of the round means")
    todo = [(m, c) for m in models for c in configs]
    for rnd in range(ROUNDS):
        order = todo if rnd % 2 == 0 else todo[::-1]
        for m, c in order:
            key = f"{m}/{c}"
            e = speeds["entries"].get(key)
            if not (e and e.get("args") == CONFIGS[c] and e.get("threads") == speed_threads and "rounds" in e):
                e = speeds["entries"][key] = {"model": m, "config": c, "args": CONFIGS[c], "threads": speed_threads,
                                              "d_pretrain_steps": pretrain_of(c), "rounds": []}
            if len(e["rounds"]) > rnd:
                continue
            log(f"speed {key}: round {rnd + 1}/{ROUNDS}, {speed_threads} threads, one process at a time")
            e["rounds"].append(time_config(out, m, c, speed_threads, f"r{rnd + 1}"))
            _summarise(e)
            write_json(path, speeds)
            log(f"speed {key}: round {rnd + 1}: {e['rounds'][-1]['s_per_step']:.4f} s/step"
                + (f" (D-only {e['rounds'][-1]['pre_s_per_step']:.4f})" if e["d_pretrain_steps"] else ""))
    for m, c in todo:
        e = speeds["entries"][f"{m}/{c}"]
        log(f"speed {m}/{c}: {e['s_per_step']:.4f} s/step = {e['img_per_s']} img/s (rounds: "
            + ", ".join(f"{r['s_per_step']:.4f}" for r in e["rounds"])
            + (f"; D-only {e['pre_s_per_step']:.4f} s/step" if e.get("pre_s_per_step") else "") + ")")
    for m in models:       # 1-thread speed of each baseline: only for the wall-time estimate
        key = f"{m}/baseline@1thread"
        if "rounds" not in speeds["entries"].get(key, {}):
            log(f"speed {key}: timing with 1 thread (for the wall-time estimate only)")
            e = {"model": m, "config": "baseline", "args": [], "threads": 1, "d_pretrain_steps": 0,
                 "rounds": [time_config(out, m, "baseline", 1, "r1")]}
            _summarise(e)
            speeds["entries"][key] = e
            write_json(path, speeds)
        log(f"speed {key}: {speeds['entries'][key]['s_per_step']:.4f} s/step")
    shutil.rmtree(out / "speed-runs", ignore_errors=True)
    return speeds


def _summarise(e: dict) -> None:
    e["s_per_step"] = round(statistics.median(r["s_per_step"] for r in e["rounds"]), 5)
    e["img_per_s"] = round(BATCH / e["s_per_step"], 1)
    if e["d_pretrain_steps"]:
        e["pre_s_per_step"] = round(statistics.median(r["pre_s_per_step"] for r in e["rounds"]), 5)


# ------------------------------------------------------------------------------------ runs & evals
class Task:
    def __init__(self, kind: str, model: str, config: str, seed: int, steps: int, run: Path):
        self.kind, self.model, self.config, self.seed, self.steps, self.run = kind, model, config, seed, steps, run
        self.tries, self.proc, self.logf, self.started, self.from_step = 0, None, None, 0.0, 0

    @property
    def name(self) -> str:
        return self.run.name


def eval_done(run: Path) -> bool:
    d = read_json(run / "eval.json")
    return bool(d and isinstance(d.get("metrics"), dict) and d.get("step") == latest_step(run))


def metric_values(run: Path) -> dict | None:
    """{kind: {"value", "real", "spread", "name"}} from RUN/eval.json."""
    d = read_json(run / "eval.json")
    if not d or not isinstance(d.get("metrics"), dict):
        return None
    out = {"step": d.get("step")}
    for name, e in d["metrics"].items():
        if not isinstance(e, dict):
            continue
        kind = e.get("kind") or next((k for k in ("fid", "kid", "precision", "recall", "density", "coverage",
                                                  "modes", "cond-acc") if name.startswith(k)), name)
        out[kind] = {"name": name, "value": e.get("value"), "real": e.get("real"), "spread": e.get("spread")}
    return out


class Scheduler:
    def __init__(self, args, out: Path, speeds: dict):
        self.args, self.out, self.speeds = args, out, speeds
        self.logs = out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.train_q: collections.deque[Task] = collections.deque()
        self.eval_q: collections.deque[Task] = collections.deque()
        self.running: list[Task] = []
        self.failed: list[str] = []
        self.eval_times: list[float] = []
        self.feature_net_ready = any(eval_done(p) for p in (out / "runs").glob("*")) if (out / "runs").is_dir() else False
        self.stopping = False
        for seed in args.seeds:                 # all seed-0 runs first (both models, all configs), then seed 1...
            for m in args.models:
                for c in args.configs:
                    steps = budget_steps(speeds["entries"][f"{m}/{c}"], args.minutes)
                    run = out / "runs" / f"{m}-{c}-s{seed}"
                    self.train_q.append(Task("train", m, c, seed, steps, run))

    # -- starting ---------------------------------------------------------------------------------
    def _next(self) -> Task | None:
        evals_running = sum(t.kind == "eval" for t in self.running)
        if self.eval_q and (self.feature_net_ready or evals_running == 0):   # the first eval trains the feature net alone
            return self.eval_q.popleft()
        return self.train_q.popleft() if self.train_q else None

    def _start(self, t: Task) -> None:
        env = thread_env(self.args.run_threads)
        if t.kind == "train":
            step = latest_step(t.run)
            if step is not None and step >= t.steps:
                log(f"train {t.name}: already at step {step} (target {t.steps}): skipped")
                self._queue_eval(t)
                return
            if (t.run / "config.json").is_file():
                t.from_step = step or 0
                cmd = drawlab_cmd("train", "--resume", str(t.run), "--steps", str(t.steps), "--no-progress")
                what = f"resuming from step {t.from_step}"
            else:
                t.from_step = 0
                cmd = drawlab_cmd("train", "--preset", MODELS[t.model], "--data", DATA, *CONFIGS[t.config],
                                  "--seed", str(t.seed), "--steps", str(t.steps), "--out", str(t.run), "--no-progress")
                what = "new run"
        else:
            if eval_done(t.run):
                log(f"eval {t.name}: eval.json already there for step {latest_step(t.run)}: skipped")
                self.feature_net_ready = True
                self.write_table()
                return
            cmd = drawlab_cmd("evaluate", str(t.run), "--n", str(EVAL_N))
            what = f"step {latest_step(t.run)}"
        t.tries += 1
        t.logf = open(self.logs / f"{t.name}.{t.kind}.log", "a")
        t.logf.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n")
        t.logf.flush()
        t.proc = subprocess.Popen(cmd, env=env, stdout=t.logf, stderr=subprocess.STDOUT, cwd=str(REPO),
                                  preexec_fn=_die_with_parent)
        t.started = time.monotonic()
        self.running.append(t)
        extra = f", target {t.steps} steps" if t.kind == "train" else ""
        log(f"{t.kind} {t.name}: started ({what}{extra}, try {t.tries}, pid {t.proc.pid}) "
            f"[{len(self.train_q)} runs and {len(self.eval_q)} evals waiting]")

    def _queue_eval(self, t: Task) -> None:
        self.eval_q.append(Task("eval", t.model, t.config, t.seed, t.steps, t.run))

    # -- finishing --------------------------------------------------------------------------------
    def _finish(self, t: Task) -> None:
        t.logf.close()
        rc, wall = t.proc.returncode, time.monotonic() - t.started
        self.running.remove(t)
        if self.stopping:
            return
        tail = ""
        if rc != 0:
            lines = (self.logs / f"{t.name}.{t.kind}.log").read_text(errors="replace").splitlines()
            tail = " | ".join(lines[-3:])
        if t.kind == "train":
            step = latest_step(t.run)
            if step is not None and step >= t.steps:
                log(f"train {t.name}: done, step {step}, {wall / 60:.1f} min wall ({(step - t.from_step) / max(wall, 1e-9):.2f} steps/s)")
                self._queue_eval(t)
                return
            what = f"stopped at step {step} of {t.steps} (exit {rc}) {tail}"
        else:
            if rc == 0 and eval_done(t.run):
                self.feature_net_ready = True
                self.eval_times.append(wall)
                v = metric_values(t.run) or {}
                fid = (v.get("fid") or {}).get("value")
                log(f"eval {t.name}: done in {wall / 60:.1f} min, FID {fid}")
                self.write_table()
                return
            what = f"failed (exit {rc}) {tail}"
        if t.tries < 2:
            log(f"{t.kind} {t.name}: {what}; trying again")
            (self.eval_q if t.kind == "eval" else self.train_q).appendleft(t)
        else:
            log(f"{t.kind} {t.name}: {what}; giving up on it (log: {self.logs / f'{t.name}.{t.kind}.log'})")
            self.failed.append(f"{t.kind} {t.name}")

    def status_line(self) -> None:
        parts = []
        for t in self.running:
            if t.kind == "train":
                s = last_logged_step(t.run)
                parts.append(f"{t.name} step {s if s is not None else '?'}/{t.steps}")
            else:
                parts.append(f"eval {t.name}")
        log(f"status: running {', '.join(parts) or 'nothing'}; waiting {len(self.train_q)} runs, {len(self.eval_q)} evals")

    def run(self) -> None:
        last_status = time.monotonic()
        while (self.train_q or self.eval_q or self.running) and not self.stopping:
            while len(self.running) < self.args.parallel and not self.stopping:
                t = self._next()
                if t is None:
                    break
                self._start(t)
            for t in list(self.running):
                if t.proc.poll() is not None:
                    self._finish(t)
            if time.monotonic() - last_status > 300:
                self.status_line()
                last_status = time.monotonic()
            time.sleep(1.0)

    def stop(self) -> None:
        """Ask every child to stop (drawlab train saves a checkpoint on SIGTERM) and wait for them."""
        self.stopping = True
        for t in self.running:
            if t.proc.poll() is None:
                t.proc.send_signal(signal.SIGCONT)
                t.proc.terminate()
        deadline = time.monotonic() + 90
        for t in self.running:
            try:
                t.proc.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                t.proc.kill()

    # -- the table --------------------------------------------------------------------------------
    def write_table(self) -> None:
        write_tables(self.args, self.out, self.speeds)


def _fmt(v, nd=2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and nd == 0:
        return f"{v:.1f}" if v != int(v) else f"{int(v)}"
    return f"{v:.{nd}f}" if isinstance(v, (int, float)) else str(v)


def _mean(xs):
    xs = [x for x in xs if isinstance(x, (int, float))]
    return statistics.fmean(xs) if xs else None


def write_tables(args, out: Path, speeds: dict) -> None:
    kinds = ["fid", "precision", "recall", "coverage", "modes", "cond-acc"]
    runs, rows = {}, []
    for m in args.models:
        base_fid = None
        for c in args.configs:
            sp = speeds["entries"][f"{m}/{c}"]
            n = budget_steps(sp, args.minutes)
            per_seed = {}
            for s in args.seeds:
                run = out / "runs" / f"{m}-{c}-s{s}"
                v = metric_values(run) if eval_done(run) else None
                runs[run.name] = {"model": m, "preset": MODELS[m], "config": c, "args": CONFIGS[c], "seed": s,
                                  "target_steps": n, "step": latest_step(run), "metrics": v}
                if v:
                    per_seed[s] = v
            row = {"model": m, "config": c, "args": CONFIGS[c], "steps": n, "img_per_s_2threads": sp["img_per_s"],
                   "seeds_done": sorted(per_seed),
                   "fid_per_seed": {str(s): (per_seed[s].get("fid") or {}).get("value") for s in per_seed}}
            for k in kinds:
                row[k] = _mean([(v.get(k) or {}).get("value") for v in per_seed.values()])
            if c == "baseline":
                base_fid = row["fid"]
            rows.append(row)
        for row in rows:
            if row["model"] == m:
                row["fid_delta"] = (row["fid"] - base_fid) if (row["fid"] is not None and base_fid is not None) else None
    floors = {}
    for m in args.models:
        vals = [r["metrics"] for r in runs.values() if r["model"] == m and r["metrics"]]
        floors[m] = {k: _mean([(v.get(k) or {}).get("real") for v in vals]) for k in kinds}
        floors[m]["metric_names"] = {k: (vals[0].get(k) or {}).get("name") for k in kinds} if vals else {}
    command = f"cd {shlex.quote(os.getcwd())} && {shlex.join(getattr(sys, 'orig_argv', [sys.executable, *sys.argv]))}"
    meta = {"command": command, "cpu": speeds.get("cpu"), "minutes": args.minutes, "batch_size": BATCH,
            "data": DATA, "eval_n": EVAL_N, "seeds": args.seeds, "speed_threads": args.speed_threads,
            "run_threads": args.run_threads, "parallel": args.parallel,
            "updated": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(out / "ablation.json", {**meta, "speeds": speeds, "rows": rows, "real_floor": floors, "runs": runs})

    seeds = args.seeds
    L = [f"# Stabilising tricks: ablation at equal CPU budget", "",
         "```", command, "```", "",
         f"- CPU: {speeds.get('cpu')}; budget: {args.minutes:g} CPU minutes = training time with {args.speed_threads} "
         f"threads on this machine, quiet, converted to a step count per (model, config) from its measured speed "
         f"(`speeds.json`): steps = round({60 * args.minutes:g} s x img/s / {BATCH}); with --d-pretrain-steps the "
         f"cheaper D-only steps are timed separately.",
         f"- Runs: `drawlab train --preset P --data {DATA} [trick] --seed S --steps N` ({args.run_threads} thread each, "
         f"{args.parallel} at a time); scored by `drawlab evaluate RUN --n {EVAL_N}`; seeds {', '.join(map(str, seeds))}; "
         "values are means over the seeds evaluated so far.",
         f"- Updated {meta['updated']}.", ""]
    for m in args.models:
        cond = m == "cgan"
        names = floors[m].get("metric_names") or {}
        L.append(f"## {m} (`--preset {MODELS[m]}`)" + (f" — FID is `{names['fid']}`" if names.get("fid") else ""))
        L.append("")
        head = ["config", "trick", "steps", "FID ↓ (mean)", "ΔFID vs baseline",
                *[f"FID s{s}" for s in seeds], "precision ↑", "recall ↑", "coverage ↑", "modes ↑"]
        if cond:
            head.append("cond-acc ↑")
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "|".join(["---"] * 2 + ["--:"] * (len(head) - 2)) + "|")
        for r in (r for r in rows if r["model"] == m):
            seeds_note = "" if len(r["seeds_done"]) in (0, len(seeds)) else f" ({len(r['seeds_done'])} seed)"
            d = r.get("fid_delta")
            delta = "–" if d is None else ("0 (ref)" if r["config"] == "baseline" else f"{d:+.2f}")
            cells = [r["config"], f"`{' '.join(r['args'])}`" if r["args"] else "none", str(r["steps"]),
                     _fmt(r["fid"]) + seeds_note, delta,
                     *[_fmt(r["fid_per_seed"].get(str(s))) for s in seeds],
                     _fmt(r["precision"], 3), _fmt(r["recall"], 3), _fmt(r["coverage"], 3), _fmt(r["modes"], 0)]
            if cond:
                cells.append(_fmt(r["cond-acc"], 3))
            L.append("| " + " | ".join(cells) + " |")
        f = floors[m]
        cells = ["real data (floor)", "two disjoint real sets", "", _fmt(f["fid"]), "", *["" for _ in seeds],
                 _fmt(f["precision"], 3), _fmt(f["recall"], 3), _fmt(f["coverage"], 3), _fmt(f["modes"], 0)]
        if cond:
            cells.append(_fmt(f["cond-acc"], 3))
        L.append("| " + " | ".join(cells) + " |")
        L.append("")
    L += [f"## Measured speeds ({args.speed_threads} threads, quiet machine)", "", speeds.get("method", "") + ".", "",
          "| model | config | s/step (median) | img/s | steps for the budget | s/step per round |", "|---|---|--:|--:|--:|--:|"]
    for m in args.models:
        for c in args.configs:
            e = speeds["entries"][f"{m}/{c}"]
            pre = f" (D-only: {e['pre_s_per_step']:.4f})" if e.get("pre_s_per_step") else ""
            per_round = ", ".join(f"{r['s_per_step']:.4f}" for r in e["rounds"])
            L.append(f"| {m} | {c} | {e['s_per_step']:.4f}{pre} | {e['img_per_s']} | {budget_steps(e, args.minutes)} | "
                     f"{per_round} |")
    L.append("")
    write_text(out / "ablation.md", "\n".join(L))


# ------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/ablation", help="output folder (default /tmp/ablation)")
    ap.add_argument("--minutes", type=float, default=3.0, help="CPU budget per run, in minutes at 2 threads (default 3)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--parallel", type=int, default=2, help="training/eval processes at a time (default 2)")
    ap.add_argument("--run-threads", type=int, default=1, help="threads per training/eval process (default 1)")
    ap.add_argument("--speed-threads", type=int, default=2, help="threads of the budget's reference speed (default 2)")
    args = ap.parse_args(argv)
    if args.minutes <= 0 or args.parallel < 1 or args.run_threads < 1 or args.speed_threads < 1:
        ap.error("--minutes, --parallel, --run-threads and --speed-threads must be positive")
    if "baseline" not in args.configs:
        args.configs = ["baseline", *args.configs]      # the deltas need it
    args.configs = list(dict.fromkeys(args.configs))
    out = Path(args.out).expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"another ablation.py is already working in {out}", file=sys.stderr)
        return 2
    lock.write(str(os.getpid()))
    lock.flush()

    cpu = cpu_model()
    log(f"ablation: out {out}; models {args.models}; configs {args.configs}; seeds {args.seeds}; "
        f"budget {args.minutes:g} min at {args.speed_threads} threads; {args.parallel} processes x {args.run_threads} thread")
    log(f"cpu: {cpu} ({os.cpu_count()} logical CPUs); drawlab: {' '.join(drawlab_cmd())}")
    if DRAWLAB is None:
        log("note: no .venv/bin/drawlab; using python -m drawlab")

    log("phase 1: training speeds (sequential, before any long run)")
    try:
        speeds = measure_speeds(out, args.models, args.configs, args.speed_threads)
    except RuntimeError as e:
        log(f"error: {e}")
        return 1
    plan = []
    for m in args.models:
        for c in args.configs:
            e = speeds["entries"][f"{m}/{c}"]
            plan.append((m, c, budget_steps(e, args.minutes)))
            log(f"plan {m}/{c}: {e['img_per_s']} img/s at {args.speed_threads} threads -> {plan[-1][2]} steps")
    # wall-time estimate: the 1-thread speed of each model's baseline, scaled by the config's 2-thread cost
    est = 0.0
    for m, c, n in plan:
        one = speeds["entries"].get(f"{m}/baseline@1thread")
        base2 = speeds["entries"][f"{m}/baseline"]["s_per_step"]
        cfg2 = speeds["entries"][f"{m}/{c}"]["s_per_step"]
        t1 = (one["s_per_step"] if one else 2 * base2) * cfg2 / base2
        est += n * t1 * len(args.seeds)
    n_runs = len(plan) * len(args.seeds)
    est_wall = est / args.parallel + n_runs * 60 / args.parallel     # + about a minute per evaluation
    log(f"estimate: {n_runs} runs, {est / 3600:.2f} process-hours of training at {args.run_threads} thread; "
        f"about {est_wall / 3600:.1f} h wall with {args.parallel} at a time on a quiet machine (+ evaluations)")

    log("phase 2: training and evaluation")
    sched = Scheduler(args, out, speeds)

    def on_signal(signum, frame):
        log(f"signal {signum}: stopping children (they save a checkpoint); run again to continue")
        sched.stop()
        sys.exit(130)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sched.write_table()
    sched.run()
    sched.write_table()
    log(f"table: {out / 'ablation.md'}  raw: {out / 'ablation.json'}")
    if sched.failed:
        log(f"failed: {', '.join(sched.failed)} (run the same command again to retry)")
        return 1
    log("all done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
