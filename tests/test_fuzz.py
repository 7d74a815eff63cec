"""Fuzzed inputs: Hypothesis over config.json, latest.json and CLI options, and a corpus of malformed files.

The promise under test: every input is handled, or gets one line (``drawlab: error: ...``) and exit 2;
never a traceback, never a hang, never a lost checkpoint. Each test prints how many inputs it tried.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import TINY
from drawlab.cli import main
from drawlab.data import open_dataset
from drawlab.errors import DataError
from drawlab.run import RunDir

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def one_line_or_ok(code: int, err: str) -> None:
    """Exit 0, or exit 2/3 with exactly one error line; never a traceback."""
    assert "Traceback" not in err, err
    assert code in (0, 2, 3), (code, err)
    if code:
        assert len([ln for ln in err.splitlines() if ln.startswith("drawlab: error")]) == 1, err


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "run"
    assert (
        main(
            [
                "train",
                *TINY,
                "--model",
                "dcgan",
                "--data",
                "mnist-5k",
                "--steps",
                "4",
                "--checkpoint-every",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def _leaves(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, (*path, k))
    else:
        yield path


def _set(d, path, value):
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


COUNT = {"config": 0, "latest": 0, "cli": 0}


@pytest.fixture(scope="module", autouse=True)
def _say_how_many_were_tried():
    yield
    print(f"\nfuzzed: {COUNT['config']} config.json, {COUNT['latest']} latest.json, {COUNT['cli']} option sets")


@FUZZ
@given(data=st.data())
def test_config_json_with_any_value_anywhere(base_run: Path, tmp_path_factory, capsys, data) -> None:
    run = tmp_path_factory.mktemp("cfg") / "run"
    shutil.copytree(base_run, run)
    d = json.loads((run / "config.json").read_text())
    paths = sorted(_leaves(d), key=str)
    for _ in range(data.draw(st.integers(1, 3))):
        _set(d, data.draw(st.sampled_from(paths)), data.draw(JSON))
    if data.draw(st.booleans()):
        d["train"][data.draw(st.text(min_size=1, max_size=6))] = 1  # an unknown key
    (run / "config.json").write_text(json.dumps(d))
    capsys.readouterr()
    code = main(["sample", str(run), "--n", "4", "--out", str(run / "s.png")])
    one_line_or_ok(code, capsys.readouterr().err)
    COUNT["config"] += 1


@FUZZ
@given(latest=JSON)
def test_latest_json_with_any_content_falls_back_to_a_checkpoint(
    base_run: Path, tmp_path_factory, capsys, latest
) -> None:
    run = tmp_path_factory.mktemp("latest") / "run"
    shutil.copytree(base_run, run)
    (run / "checkpoints" / "latest.json").write_text(json.dumps(latest))
    capsys.readouterr()
    code = main(["sample", str(run), "--n", "4", "--out", str(run / "s.png")])
    one_line_or_ok(code, capsys.readouterr().err)
    assert code == 0 and RunDir(run).latest_checkpoint().step == 4  # the newest pair on disk
    COUNT["latest"] += 1


OPTIONS = [
    "--steps",
    "--epochs",
    "--minutes",
    "--batch-size",
    "--width",
    "--z-dim",
    "--lr",
    "--lr-g",
    "--lr-d",
    "--loss",
    "--gp-weight",
    "--d-steps",
    "--spectral-norm",
    "--r1",
    "--r1-every",
    "--diffaugment",
    "--ema",
    "--ema-rampup",
    "--label-smoothing",
    "--flip-labels",
    "--instance-noise",
    "--d-pretrain-steps",
    "--swap-real-fraction",
    "--sample-every",
    "--checkpoint-every",
    "--eval-every",
    "--eval-n",
    "--device",
    "--precision",
    "--on-nan",
    "--model",
    "--preset",
    "--data",
    "--size",
    "--channels",
    "--seed",
    "--monitor-every",
    "--d-norm",
    "--pair-labels",
    "--g-steps",
]
VALUES = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "2",
        "0.5",
        "1e9",
        "nan",
        "inf",
        "-inf",
        "",
        "x",
        "hinge",
        "wgan-gp",
        "color",
        "cuda",
        "cpu",
        "bf16",
        "d",
        "both",
        "stop",
        "dcgan",
        "vae",
        "mnist-5k",
        "folder:/nonexistent",
        "patches:example",
        "true",
        "random",
        "10000000000000000000",
    ]
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(opts=st.lists(st.tuples(st.sampled_from(OPTIONS), VALUES), max_size=4))
def test_train_options_in_any_combination(tmp_path_factory, capsys, opts) -> None:
    out = tmp_path_factory.mktemp("cli") / "run"
    args = [a for o in opts for a in o]
    capsys.readouterr()
    code = main(["train", *TINY, "--data", "mnist-5k", *args, "--steps", "1", "--out", str(out)])
    one_line_or_ok(code, capsys.readouterr().err)
    if code:
        assert not (out / "checkpoints" / "latest.json").exists()
    COUNT["cli"] += 1


# -- a corpus of malformed files ------------------------------------------------------------------------------
def _png(arr: np.ndarray, **kw) -> bytes:
    b = io.BytesIO()
    Image.fromarray(arr, **kw).save(b, format="PNG")
    return b.getvalue()


def _bomb_png(side: int = 100_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


def image_corpus(folder: Path) -> list[tuple[str, bytes | None]]:
    """(name, bytes) of hostile image files; None = a special file made by the caller."""
    rng = np.random.default_rng(0)
    good = _png(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
    out: list[tuple[str, bytes | None]] = [
        ("empty.png", b""),
        ("bomb.png", _bomb_png()),
        ("text.png", b"not an image"),
        ("random.jpg", rng.bytes(300)),
    ]
    out += [(f"cut{k}.png", good[:k]) for k in (1, 8, 16, 33, 50, 80, len(good) // 2, len(good) - 12, len(good) - 1)]
    b16 = io.BytesIO()
    Image.fromarray(rng.integers(0, 65535, (10, 10), dtype=np.uint16)).save(b16, format="PNG")
    out.append(("sixteen-bit.png", b16.getvalue()))
    cmyk = io.BytesIO()
    Image.new("CMYK", (10, 10), (10, 200, 30, 5)).save(cmyk, format="JPEG")
    out.append(("cmyk.jpg", cmyk.getvalue()))
    pal = Image.new("P", (10, 10))
    pal.putpalette([i % 256 for i in range(768)])
    pb = io.BytesIO()
    pal.save(pb, format="PNG", transparency=0)
    out.append(("palette-transparent.png", pb.getvalue()))
    gif = io.BytesIO()
    frames = [Image.new("L", (10, 10), v) for v in (0, 128, 255)]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    out.append(("animated.webp.gif.png", gif.getvalue()))  # a GIF under a .png name
    exif = Image.new("RGB", (12, 8), (200, 10, 10)).getexif()
    exif[0x0112] = 6  # rotated 90 degrees
    eb = io.BytesIO()
    Image.new("RGB", (12, 8), (200, 10, 10)).save(eb, format="JPEG", exif=exif)
    out.append(("exif-rotated.jpg", eb.getvalue()))
    out += [
        ("tiny1x1.png", _png(np.zeros((1, 1), np.uint8))),
        ("huge-aspect.png", _png(np.zeros((1, 300), np.uint8))),
        ("rgba.png", _png(np.zeros((6, 6, 4), np.uint8))),
        ("la.png", _png(np.zeros((6, 6, 2), np.uint8)[..., 0])),
    ]
    out += [("symlink-loop", None), ("non-utf8", None), ("dir.png", None)]
    return out


def _make(folder: Path, name: str, data: bytes | None) -> None:
    if name == "symlink-loop":
        os.symlink(folder / "loop-b.png", folder / "loop-a.png")
        os.symlink(folder / "loop-a.png", folder / "loop-b.png")
    elif name == "non-utf8":
        os.close(os.open(os.path.join(os.fsencode(folder), b"\xff\xfe-name.png"), os.O_CREAT | os.O_WRONLY))
        (Path(os.fsdecode(os.path.join(os.fsencode(folder), b"\xff\xfe-name.png")))).write_bytes(
            _png(np.full((8, 8), 99, np.uint8))
        )
    elif name == "dir.png":
        (folder / name).mkdir()
    else:
        (folder / name).write_bytes(data)


def _open_ok_or_one_line(spec: str, **kw) -> None:
    try:
        ds = open_dataset(spec, **kw)
    except DataError as e:
        assert "\n" not in str(e)
        return
    for i in range(len(ds)):  # every item decodes to the promised shape
        assert tuple(ds.load_item(i)[0].shape) == tuple(ds.shape)


@pytest.mark.slow
def test_a_corpus_of_malformed_files_is_handled_or_refused_in_one_line(tmp_path: Path, base_run: Path, capsys) -> None:
    tried = 0
    corpus = image_corpus(tmp_path)
    for name, data in corpus:  # each hostile file beside two good images ...
        folder = tmp_path / f"one-{tried}"
        folder.mkdir()
        for k in range(2):
            (folder / f"good{k}.png").write_bytes(_png(np.full((12, 12), 50 * k, np.uint8)))
        _make(folder, name, data)
        for streaming in (False, True):
            _open_ok_or_one_line(f"folder:{folder}", size=8, **({"max_memory_bytes": 0} if streaming else {}))
            tried += 1
        folder_alone = tmp_path / f"alone-{tried}"  # ... and alone
        folder_alone.mkdir()
        _make(folder_alone, name, data)
        _open_ok_or_one_line(f"folder:{folder_alone}", size=8)
        tried += 1
    everything = tmp_path / "everything"  # all of them together, in two classes
    for cls in ("a", "b"):
        (everything / cls).mkdir(parents=True)
        for name, data in corpus:
            _make(everything / cls, name, data)
    _open_ok_or_one_line(f"folder:{everything}", size=16, channels=3)
    one = tmp_path / "one-class-one-image" / "only"
    one.mkdir(parents=True)
    (one / "x.png").write_bytes(_png(np.zeros((8, 8), np.uint8)))
    _open_ok_or_one_line(f"folder:{one.parent}", size=8)
    tried += 2

    for case, mutate in checkpoint_corpus():  # damaged checkpoint files: refused or skipped
        run = tmp_path / f"ck-{tried}"
        shutil.copytree(base_run, run)
        mutate(RunDir(run))
        capsys.readouterr()
        one_line_or_ok(main(["sample", str(run), "--n", "2", "--out", str(run / "s.png")]), capsys.readouterr().err)
        one_line_or_ok(main(["train", "--resume", str(run), "--steps", "5", "--no-progress"]), capsys.readouterr().err)
        assert RunDir(run).list_checkpoints(), f"{case}: a checkpoint was lost"
        tried += 1
    print(f"malformed files tried: {tried} (each handled, or one line and exit 2)")
    assert tried >= 100


def checkpoint_corpus():
    """(name, mutate(run)) pairs that damage the newest checkpoint of a copy of a run."""

    def cut(n):
        def f(run: RunDir):
            p = run.latest_checkpoint().weights
            p.write_bytes(p.read_bytes()[:n])

        return f

    def cut_state(n):
        def f(run: RunDir):
            p = run.latest_checkpoint().state
            p.write_bytes(p.read_bytes()[:n])

        return f

    def retensor(fn):
        def f(run: RunDir):
            from safetensors.torch import load_file, save_file

            p = run.latest_checkpoint().weights
            t = load_file(str(p))
            k = sorted(t)[len(t) // 2]
            t[k] = fn(t[k])
            save_file(t, str(p))

        return f

    def restate(fn):
        def f(run: RunDir):
            p = run.latest_checkpoint().state
            s = torch.load(p, weights_only=True)
            fn(s)
            torch.save(s, p)

        return f

    cases = [(f"weights cut at {n}", cut(n)) for n in (0, 1, 2, 7, 8, 9, 100, 1000, 5000, 20000)]
    cases += [(f"state cut at {n}", cut_state(n)) for n in (0, 1, 10, 50, 500, 2000)]
    cases += [
        ("wrong shape", retensor(lambda x: torch.zeros(3, 1))),
        ("wrong dtype", retensor(lambda x: x.to(torch.int8))),
        ("float64", retensor(lambda x: x.double())),
        ("empty tensor", retensor(lambda x: x[:0])),
    ]
    cases += [
        ("state: step a string", restate(lambda s: s.__setitem__("step", "x"))),
        ("state: no optimizers", restate(lambda s: s.pop("optimizers"))),
        ("state: rng wrong", restate(lambda s: s.__setitem__("rng_cpu", torch.zeros(3)))),
        ("state: elapsed None", restate(lambda s: s.__setitem__("elapsed", None))),
    ]
    return cases
