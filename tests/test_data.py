"""Tests for drawlab.data: sources, folder decoding and caching, deterministic batches."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import drawlab.data.folder as folder_mod
from drawlab.data import REGISTRY, Batches, DataWarning, ImageDataset, default_data_root, list_sources, open_dataset
from drawlab.data.batches import epoch_permutation
from drawlab.data.idx import parse_idx
from drawlab.errors import DataError

CELEBA = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba-10k"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the network or the user's cache; no Fashion-MNIST override unless a test sets one."""
    monkeypatch.setenv("DRAWLAB_OFFLINE", "1")
    monkeypatch.setenv("DRAWLAB_DATA", str(tmp_path / "data-root"))
    monkeypatch.delenv("DRAWLAB_FASHION_DIR", raising=False)


# ---------------------------------------------------------------- helpers


def idx_bytes(a: np.ndarray) -> bytes:
    """uint8 array -> IDX file bytes."""
    return struct.pack(">BBBB", 0, 0, 0x08, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def write_idx_pair(directory: Path, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stem, a in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        data = idx_bytes(a)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)


def save_image(path: Path, color: tuple[int, int, int] | int, size: tuple[int, int] = (12, 10)) -> None:
    """A flat image; an int color makes a gray (mode L) image, a tuple an RGB one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if isinstance(color, int) else "RGB"
    Image.new(mode, size, color).save(path)


def index_dataset(n: int, labelled: bool = False) -> ImageDataset:
    """Image i is filled with value i, so a batch reveals which items it holds."""
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    labels = (torch.arange(n) % 3) if labelled else None
    return ImageDataset("test", (1, 2, 2), 3 if labelled else 0, ["a", "b", "c"] if labelled else [],
                        images, labels, "0" * 16)  # fmt: skip


def batch_indices(x: torch.Tensor) -> list[int]:
    return ((x[:, 0, 0, 0] + 1) * 127.5).round().long().tolist()


def take(it, k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [next(it) for _ in range(k)]


# ---------------------------------------------------------------- MNIST-style sources


def test_mnist_5k_shape_labels_and_values() -> None:
    ds = open_dataset("mnist-5k")
    assert ds.name == "mnist-5k" and ds.in_memory and ds.notice is None
    assert ds.images.shape == (5000, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert ds.shape == (1, 28, 28) and len(ds) == 5000
    assert ds.labels.dtype == torch.int64
    assert ds.labels.bincount().tolist() == [500] * 10
    assert int(ds.images.min()) == 0 and int(ds.images.max()) == 255
    assert ds.class_names == [str(d) for d in range(10)] and ds.num_classes == 10
    assert len(ds.fingerprint) == 16 and int(ds.fingerprint, 16) >= 0


def test_mnist_offline_falls_back_to_sample_with_notice(tmp_path: Path) -> None:
    ds = open_dataset("mnist", root=tmp_path / "empty")
    assert len(ds) == 5000 and ds.name == "mnist-5k"
    assert ds.notice is not None and "mnist-5k" in ds.notice and str(tmp_path / "empty") in ds.notice
    assert ds.fingerprint == open_dataset("mnist-5k").fingerprint


def test_mnist_reads_idx_files_under_root(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 9], dtype=np.uint8)
    write_idx_pair(tmp_path / "MNIST" / "raw", images, labels, gz=False)
    ds = open_dataset("mnist", root=tmp_path)
    assert ds.name == "mnist" and ds.notice is None
    assert torch.equal(ds.images[:, 0], torch.from_numpy(images))
    assert ds.labels.tolist() == labels.tolist()


def test_fashion_from_gzipped_idx_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    write_idx_pair(tmp_path / "fmnist", images, labels, gz=True)
    monkeypatch.setenv("DRAWLAB_FASHION_DIR", str(tmp_path / "fmnist"))
    ds = open_dataset("fashion", root=tmp_path / "empty")
    assert ds.name == "fashion" and ds.shape == (1, 28, 28)
    assert torch.equal(ds.images[:, 0], torch.from_numpy(images))
    assert ds.labels.tolist() == list(range(7))
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def test_fashion_missing_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAWLAB_FASHION_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        open_dataset("fashion", root=tmp_path / "empty")


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_from_debian_package(tmp_path: Path) -> None:
    ds = open_dataset("fashion", root=tmp_path / "empty")
    assert ds.images.shape == (60000, 1, 28, 28)
    assert ds.labels.bincount().tolist() == [6000] * 10


def test_idx_reader_rejects_broken_files() -> None:
    good = idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8))
    assert parse_idx(good).shape == (2, 3, 3)
    with pytest.raises(DataError, match="needs"):
        parse_idx(good[:-1])
    with pytest.raises(DataError, match="magic"):
        parse_idx(b"\x1f\x8b" + good[2:])


def test_mnist_resize_and_channels() -> None:
    ds = open_dataset("mnist-5k", size=32, channels=3)
    assert ds.images.shape == (5000, 3, 32, 32) and ds.shape == (3, 32, 32)
    assert torch.equal(ds.images[:, 0], ds.images[:, 2])
    assert ds.fingerprint != open_dataset("mnist-5k").fingerprint
    # a bright digit stays bright and the background stays black after resizing
    assert int(ds.images.max()) > 200 and int(ds.images[:, :, 0, 0].max()) == 0


# ---------------------------------------------------------------- folders


def test_folder_labelled_by_subfolders(tmp_path: Path) -> None:
    save_image(tmp_path / "imgs" / "dogs" / "a.png", (200, 0, 0))
    save_image(tmp_path / "imgs" / "cats" / "b.jpg", (0, 200, 0))
    save_image(tmp_path / "imgs" / "cats" / "deeper" / "c.PNG", (0, 0, 200))
    save_image(tmp_path / "imgs" / "stray.png", (9, 9, 9))
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    with pytest.warns(DataWarning, match="ignored 1 images directly"):
        ds = open_dataset(f"folder:{tmp_path / 'imgs'}", size=8)
    assert ds.name == f"folder:{(tmp_path / 'imgs').resolve()}"
    assert ds.class_names == ["cats", "dogs"] and ds.num_classes == 2
    assert ds.shape == (3, 8, 8) and ds.images.shape == (3, 3, 8, 8)
    # files sorted by relative path: cats/b.jpg, cats/deeper/c.PNG, dogs/a.png
    assert ds.labels.tolist() == [0, 0, 1]
    assert ds.images[2, :, 4, 4].tolist() == [200, 0, 0]


def test_folder_unlabelled_channel_detection(tmp_path: Path) -> None:
    for k in range(3):
        save_image(tmp_path / "gray" / f"{k}.png", 40 * k)
    ds = open_dataset(str(tmp_path / "gray"))  # a bare path is a folder spec
    assert ds.labels is None and ds.num_classes == 0 and ds.class_names == []
    assert ds.shape == (1, 64, 64)  # default folder size 64, gray -> 1 channel
    assert ds.images[:, 0, 5, 5].tolist() == [0, 40, 80]
    save_image(tmp_path / "gray" / "z.png", (10, 20, 30))
    assert open_dataset(str(tmp_path / "gray")).shape == (3, 64, 64)


def test_folder_resize_centre_crop_and_luminance(tmp_path: Path) -> None:
    img = Image.new("RGB", (30, 10), (255, 0, 0))
    img.paste((0, 255, 0), (10, 0, 20, 10))
    img.paste((0, 0, 255), (20, 0, 30, 10))
    save_dir = tmp_path / "wide"
    save_dir.mkdir()
    img.save(save_dir / "w.png")
    rgb = open_dataset(f"folder:{save_dir}", size=10)
    assert rgb.images.shape == (1, 3, 10, 10)
    assert rgb.images[0, :, 5, 2:8].T.tolist() == [[0, 255, 0]] * 6  # only the green middle survives
    gray = open_dataset(f"folder:{save_dir}", size=10, channels=1)
    assert gray.shape == (1, 10, 10)
    assert abs(int(gray.images[0, 0, 5, 5]) - round(0.587 * 255)) <= 1


def _wide_sketch(folder: Path) -> None:
    """A 30x10 white image with a black 10x10 square in the middle (a sketch on paper, not square)."""
    folder.mkdir()
    img = Image.new("L", (30, 10), 255)
    img.paste(0, (10, 0, 20, 10))
    img.save(folder / "w.png")


def test_folder_fit_crop_pad_and_resize_make_a_wide_image_square_three_ways(tmp_path: Path) -> None:
    _wide_sketch(tmp_path / "wide")
    spec = f"folder:{tmp_path / 'wide'}"
    crop = open_dataset(spec, size=10)
    assert int(crop.images.max()) == 0  # only the black middle survives
    pad = open_dataset(spec, size=15, fit="pad").images[0, 0].int()
    assert pad[:4].min() == 255 and pad[-4:].min() == 255  # padded above and below with the border's white
    assert pad[7, :4].min() == 255 and pad[7, 6:9].max() == 0  # the whole row: white, black square, white
    stretched = open_dataset(spec, size=15, fit="resize").images[0, 0].int()
    assert stretched[:, 0].min() == 255 and stretched[:, 7].max() == 0  # every row: the square stretched tall
    fps = {open_dataset(spec, size=15, fit=f).fingerprint for f in ("crop", "pad", "resize")}
    assert len(fps) == 3  # three decodings, three caches


def test_folder_says_in_one_line_what_it_found_and_how_it_fitted_it(tmp_path: Path) -> None:
    _wide_sketch(tmp_path / "wide")
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(tmp_path / "wide" / "clear.png")
    ds = open_dataset(f"folder:{tmp_path / 'wide'}", size=10, channels=1, fit="pad")
    said = ds.notice
    assert said is not None and "\n" not in said
    assert said.startswith("folder: 2 images as 10x10x1; sizes 10x10 to 30x10 (all)")
    assert "not square (1 of 2): made square by --fit pad" in said and "1 of 2 with transparency" in said
    assert int(ds.images[0].min()) == 255  # clear.png (sorted first) lies over white


def test_fit_names_one_set_of_values_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    from drawlab.config import FITS
    from drawlab.data.decode import Fit

    assert FITS == tuple(f.value for f in Fit)
    _wide_sketch(tmp_path / "wide")
    with pytest.raises(DataError, match=r"^fit must be one of crop, pad, resize, got 'squash'$"):
        open_dataset(f"folder:{tmp_path / 'wide'}", fit="squash")


def test_folder_skips_corrupt_files_with_one_warning(tmp_path: Path) -> None:
    for k in range(3):
        save_image(tmp_path / "f" / f"ok{k}.png", (10 * k, 0, 0))
    (tmp_path / "f" / "bad.png").write_bytes(b"this is not a png")
    with pytest.warns(DataWarning, match=r"skipped 1 unreadable image file in .*\(e\.g\. bad\.png\)"):
        ds = open_dataset(f"folder:{tmp_path / 'f'}", size=8)
    assert len(ds) == 3


@pytest.mark.parametrize(
    "make, spec_suffix, message",
    [
        (lambda d: None, "missing", "does not exist"),
        (lambda d: (d / "file.png").write_bytes(b"x"), "file.png", "not a folder"),
        (lambda d: (d / "empty").mkdir(), "empty", "no image files"),
        (lambda d: [(d / "junk").mkdir(), (d / "junk" / "a.jpg").write_bytes(b"no"),
                    (d / "junk" / "b.png").write_bytes(b"no")], "junk", "none of the 2 image files"),
    ],
)  # fmt: skip
def test_folder_errors(tmp_path: Path, make, spec_suffix: str, message: str) -> None:
    make(tmp_path)
    with pytest.raises(DataError, match=message):
        open_dataset(f"folder:{tmp_path / spec_suffix}")


def test_bad_specs_and_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown dataset 'cifar'.*mnist-5k.*folder:PATH"):
        open_dataset("cifar")
    save_image(tmp_path / "one" / "a.png", 1)
    for bad in (3, 1025, 32.5, True, "64"):
        with pytest.raises(DataError, match="size must be"):
            open_dataset(f"folder:{tmp_path / 'one'}", size=bad)
    with pytest.raises(DataError, match="channels must be 1"):
        open_dataset("mnist-5k", channels=2)
    with pytest.raises(DataError, match="needs a path"):
        open_dataset("folder:")
    with pytest.raises(DataError, match="takes nothing after it"):
        open_dataset("mnist-5k:x")
    for spec in ("folder:~drawlab-no-such-user/x", "patches:~drawlab-no-such-user/x.png"):
        with pytest.raises(DataError, match="cannot expand ~"):
            open_dataset(spec)
    with pytest.raises(DataError, match="unknown dataset"):
        open_dataset("~drawlab-no-such-user/x")  # a bare path that cannot be a folder


def test_sources_and_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    names = [name for name, _ in list_sources()]
    assert sorted(names) == sorted(s.usage for s in REGISTRY.values())  # every registered source, once
    shipped = ["mnist", "mnist-5k", "fashion", "patches:PATH", "folder:PATH"]
    assert [n for n in names if n in shipped] == shipped  # these ship with drawlab, in this order
    assert all(desc and "\n" not in desc for _, desc in list_sources())
    assert default_data_root() == tmp_path / "data-root"
    monkeypatch.delenv("DRAWLAB_DATA")
    assert default_data_root() == Path.home() / ".cache" / "drawlab"


# ---------------------------------------------------------------- cache


def test_second_open_reads_cache_and_change_invalidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in range(4):
        save_image(tmp_path / "c" / f"{k}.png", (50 * k, 0, 0))
    first = open_dataset(f"folder:{tmp_path / 'c'}", size=8)
    key = folder_mod.cache_key(first.fingerprint, (tmp_path / "c").resolve())  # the folder and the decoder too
    assert list((tmp_path / "data-root" / "cache").glob(f"{key}.npy"))

    calls: list[int] = []
    real = folder_mod.decode_many

    def counting(paths, *args, **kwargs):
        calls.append(len(paths))
        return real(paths, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("decoder called although the cache is valid")

    monkeypatch.setattr(folder_mod, "decode_many", refuse)
    second = open_dataset(f"folder:{tmp_path / 'c'}", size=8)
    assert torch.equal(first.images, second.images) and second.fingerprint == first.fingerprint

    monkeypatch.setattr(folder_mod, "decode_many", counting)
    touched = tmp_path / "c" / "1.png"  # same bytes, newer mtime: decoded again
    stat = os.stat(touched)
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = open_dataset(f"folder:{tmp_path / 'c'}", size=8)
    assert calls == [4] and third.fingerprint != first.fingerprint

    save_image(tmp_path / "c" / "2.png", (0, 0, 255), size=(13, 10))  # new content and size
    fourth = open_dataset(f"folder:{tmp_path / 'c'}", size=8)
    assert calls == [4, 4] and fourth.fingerprint not in (first.fingerprint, third.fingerprint)
    assert fourth.images[2, :, 4, 4].tolist() == [0, 0, 255]


# ---------------------------------------------------------------- batches


def test_batches_follow_documented_permutation_and_drop_last() -> None:
    ds = index_dataset(10)
    b = Batches(ds, 3, seed=7)
    assert b.steps_per_epoch == 3
    got = [batch_indices(x) for x, _ in take(b.iterate(), 6)]
    for e in range(2):
        perm = torch.randperm(10, generator=torch.Generator().manual_seed(7 * 1000003 + e)).tolist()
        assert got[3 * e : 3 * e + 3] == [perm[0:3], perm[3:6], perm[6:9]]
    assert torch.equal(epoch_permutation(10, 7, 1), torch.tensor(perm))
    assert got[:3] != got[3:]  # each epoch has its own order


def test_batches_deterministic_resumable_and_in_range() -> None:
    ds = index_dataset(50, labelled=True)
    a = take(Batches(ds, 8, seed=3).iterate(), 14)
    b = take(Batches(ds, 8, seed=3).iterate(), 14)
    c = take(Batches(ds, 8, seed=4).iterate(), 14)
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert any(not torch.equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))
    epoch0, epoch1 = [batch_indices(x) for x, _ in a[:6]], [batch_indices(x) for x, _ in a[6:12]]
    assert epoch0 != epoch1
    resumed = take(Batches(ds, 8, seed=3).iterate(start_step=5), 9)
    assert all(torch.equal(xa, xr) and torch.equal(ya, yr) for (xa, ya), (xr, yr) in zip(a[5:], resumed))
    for x, y in a:
        assert x.dtype == torch.float32 and x.shape == (8, 1, 2, 2) and -1 <= x.min() and x.max() <= 1
        assert y.dtype == torch.int64 and y.tolist() == [i % 3 for i in batch_indices(x)]


def test_batches_unlabelled_zeros_and_exact_range() -> None:
    images = torch.arange(256, dtype=torch.uint8).view(256, 1, 1, 1)
    ds = ImageDataset("all", (1, 1, 1), 0, [], images, None, "0" * 16)
    x, y = next(Batches(ds, 256, seed=0).iterate())
    values = sorted(x.flatten().tolist())
    assert values[0] == -1.0 and values[-1] == 1.0 and y.tolist() == [0] * 256
    exact = torch.arange(256, dtype=torch.float64) / 127.5 - 1
    assert torch.allclose(torch.tensor(values, dtype=torch.float64), exact, rtol=0, atol=1e-6)


def test_batch_size_larger_than_dataset() -> None:
    with pytest.raises(DataError, match="larger than the dataset"):
        Batches(index_dataset(5), 6, seed=0)
    with pytest.raises(DataError, match="batch size"):
        Batches(index_dataset(5), 0, seed=0)


def _assert_same_batches(ds_a: ImageDataset, ds_b: ImageDataset, workers: int, start: int, k: int) -> None:
    for (xa, ya), (xb, yb) in zip(take(Batches(ds_a, 4, seed=1).iterate(start), k),
                                  take(Batches(ds_b, 4, seed=1, workers=workers).iterate(start), k)):  # fmt: skip
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_streaming_folder_equals_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    for k in range(10):
        pixels = rng.integers(0, 256, (15, 11, 3), dtype=np.uint8)
        target = tmp_path / "s" / ("a" if k % 2 else "b") / f"{k}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(target)
    mem = open_dataset(f"folder:{tmp_path / 's'}", size=9)
    stream = open_dataset(f"folder:{tmp_path / 's'}", size=9, max_memory_bytes=0)
    assert mem.in_memory and not stream.in_memory and stream.images is None
    assert len(stream) == len(mem) == 10 and stream.fingerprint == mem.fingerprint
    assert torch.equal(stream.labels, mem.labels) and stream.shape == mem.shape
    assert torch.equal(stream.load_item(3)[0], mem.load_item(3)[0])
    _assert_same_batches(mem, stream, workers=0, start=0, k=7)
    _assert_same_batches(mem, stream, workers=2, start=4, k=5)

    # persistent workers: a second iterate() restarts at its own start_step
    batches = Batches(stream, 4, seed=1, workers=2)
    take(batches.iterate(0), 2)
    again = take(batches.iterate(3), 2)
    ref = take(Batches(mem, 4, seed=1).iterate(3), 2)
    assert all(torch.equal(xa, xb) for (xa, _), (xb, _) in zip(again, ref))


def test_streaming_mnist_equals_in_memory() -> None:
    mem = open_dataset("mnist-5k", size=20, channels=3)
    stream = open_dataset("mnist-5k", size=20, channels=3, max_memory_bytes=0)
    assert not stream.in_memory and len(stream) == 5000
    for i in (0, 17, 4999):
        assert torch.equal(stream.load_item(i)[0], mem.images[i]) and stream.load_item(i)[1] == int(mem.labels[i])
    _assert_same_batches(mem, stream, workers=0, start=1248, k=3)  # crosses the epoch boundary


# ---------------------------------------------------------------- real data


def test_celeba_sample_folder(tmp_path: Path) -> None:
    if not CELEBA.is_dir():
        message = f"{CELEBA} is missing: the shared test data (../shared/data) is not there"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    sample = tmp_path / "faces"
    sample.mkdir()
    for name in sorted(os.listdir(CELEBA))[:50]:
        shutil.copy(CELEBA / name, sample / name)
    ds = open_dataset(f"folder:{sample}", size=32)
    assert ds.images.shape == (50, 3, 32, 32) and ds.labels is None
    assert 60 < ds.images.float().mean() < 200 and ds.images.float().std() > 20
    again = open_dataset(f"folder:{sample}", size=32)
    assert torch.equal(ds.images, again.images)


def test_a_streamed_image_that_breaks_is_replaced_together_with_its_label(tmp_path: Path) -> None:
    """Review finding: a truncated file was replaced by the next readable image, but kept its own label."""
    for k, cls in enumerate(["a", "b", "b"]):
        target = tmp_path / "s" / cls / f"{k}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 40 * (k + 1), dtype=np.uint8)).save(target)
    ds = open_dataset(f"folder:{tmp_path / 's'}", size=8, max_memory_bytes=0)
    assert ds.labels.tolist() == [0, 1, 1]
    broken = tmp_path / "s" / "a" / "0.png"
    broken.write_bytes(broken.read_bytes()[:20])  # truncated after the folder was opened
    with pytest.warns(Warning, match="could not decode"):
        image, label = ds.load_item(0)
    assert label == 1 and torch.equal(image, ds.load_item(1)[0])  # the stand-in's image AND its label


@pytest.mark.parametrize("point", ["cache-write", "cache-fsync", "cache-rename"])
def test_a_crash_while_writing_the_decoded_cache_never_breaks_the_next_open(tmp_path: Path, point: str) -> None:
    """The cache as a kill -9 at ``point`` of each of its two writes (metadata, then images) leaves it: the
    next open reads the same images (decoding again where the cache is incomplete), never a torn cache."""
    from drawlab import faults

    for k in range(4):
        save_image(tmp_path / "c" / f"{k}.png", (50 * k, 0, 0))
    cache, left = tmp_path / "data-root" / "cache", []

    def kill_here(name: str) -> None:
        left.append(tmp_path / f"left-{len(left)}")
        shutil.copytree(cache, left[-1]) if cache.exists() else left[-1].mkdir()

    faults.plan(f"crash@{point}")
    faults.on_crash(kill_here)
    try:
        want = open_dataset(f"folder:{tmp_path / 'c'}", size=8)
    finally:
        faults.plan(None)
    assert len(left) == 2, f"{point} was reached {len(left)} times, not once per file"
    for disk in left:
        shutil.rmtree(cache)
        shutil.copytree(disk, cache)
        got = open_dataset(f"folder:{tmp_path / 'c'}", size=8)
        assert all(torch.equal(got.load_item(i)[0], want.load_item(i)[0]) for i in range(4))
        assert list(cache.glob("*.npy"))  # written again where it was missing
        assert all(f.stat().st_size for f in cache.iterdir() if not f.name.startswith("."))


def test_two_folders_with_the_same_names_sizes_and_times_never_share_a_decoded_cache(tmp_path: Path) -> None:
    """Review finding: the cache key left out the folder itself (and the decoder's version)."""
    import os
    import shutil

    from drawlab.data.folder import cache_key

    for k in range(4):
        target = tmp_path / "a" / f"{k}.bmp"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 10 * k, dtype=np.uint8)).save(target)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # same names, sizes and times ...
    for k in range(4):  # ... other pixels (BMP: same byte size)
        p = tmp_path / "b" / f"{k}.bmp"
        st = p.stat()
        Image.fromarray(np.full((8, 8), 200 - 10 * k, dtype=np.uint8)).save(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    a = open_dataset(f"folder:{tmp_path / 'a'}", size=8)
    b = open_dataset(f"folder:{tmp_path / 'b'}", size=8)
    assert a.fingerprint == b.fingerprint  # the data's identity is its content list ...
    assert cache_key(a.fingerprint, tmp_path / "a") != cache_key(b.fingerprint, tmp_path / "b")
    assert int(b.images[0].max()) == 200 and int(a.images[0].max()) == 0  # ... but b decoded its own pixels
