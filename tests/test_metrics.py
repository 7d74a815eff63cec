"""Validation of the metrics library (drawlab.metrics): known answers on synthetic features, and the
behaviour the metrics must show on real digits with a small feature classifier trained for a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_images
from drawlab.data import default_data_root, open_dataset
from drawlab.errors import ConfigError
from drawlab.metrics import coverage, frechet, kid, memorisation, prdc, swd
from drawlab.metrics.evaluate import plan_n
from drawlab.metrics.features import get_feature_net
from drawlab.metrics.registry import kind_of, metric_name, n_tag

FEATURE_STEPS = 60  # tiny feature net: seconds to train; tests/test_evaluate_cli.py uses the same (shared cache)


# ---------------------------------------------------------------- Frechet distance: known answers


def test_frechet_diagonal_covariances_match_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    v1, v2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    got = frechet.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_frechet_full_covariances_match_the_textbook_sqrtm_formula() -> None:
    import scipy.linalg as linalg  # scipy is a dependency (pyproject)

    rng = np.random.default_rng(1)
    d = 8
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    covmean = linalg.sqrtm(s1 @ s2).real
    textbook = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(textbook, rel=1e-7)


def test_frechet_is_zero_for_equal_gaussians_and_real_for_singular_ones() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(6, 3))
    s = a @ a.T  # rank 3 of 6: singular
    mu = rng.normal(size=6)
    assert frechet.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
    d = frechet.frechet_distance(mu, s, mu + 1, np.zeros((6, 6)))
    assert isinstance(d, float) and np.isfinite(d) and d >= 0
    # ||mu diff||^2 + tr(S) when the other covariance is 0
    assert d == pytest.approx(6 + np.trace(s), rel=1e-9)


def test_fid_of_samples_recovers_the_gaussian_answer_and_refuses_too_few() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, size=(4000, 4))
    y = rng.normal(1, 2, size=(4000, 4))
    expected = 4 * 1 + 4 * (2 - 1) ** 2
    value, spread = frechet.fid_bootstrap(x, y, repeats=5)
    assert value == pytest.approx(expected, rel=0.08) and 0 < spread < 1
    with pytest.raises(ConfigError, match="more samples than feature dimensions"):
        frechet.fid(x[:5], y[:5])


# ---------------------------------------------------------------- KID and PRDC on synthetic features


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(4)
    x, y, z = (rng.normal(size=(600, 8)) for _ in range(3))
    same, same_sd = kid.kid(x, y, subsets=10, subset_size=300)
    diff, _ = kid.kid(x, z + 1.0, subsets=10, subset_size=300)
    assert abs(same) < 3 * same_sd + 1e-3
    assert diff > 20 * max(abs(same), same_sd)


def test_prdc_matching_and_disjoint_sets() -> None:
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(800, 4)), rng.normal(size=(800, 4))
    m = prdc.prdc(real, fake, k=5)
    assert m.precision > 0.8 and m.recall > 0.8 and m.coverage > 0.8
    assert m.density == pytest.approx(1.0, abs=0.2)
    far = prdc.prdc(real, fake + 10, k=5)
    assert far.precision == 0 and far.recall == 0 and far.density == 0 and far.coverage == 0
    # one repeated point inside the real cloud: precise but covering almost nothing
    one = prdc.prdc(real, np.zeros((800, 4)) + 0.01 * rng.normal(size=(800, 4)), k=5)
    assert one.precision > 0.9 and one.coverage < 0.05 and one.recall < 0.05


def test_mode_coverage_helpers() -> None:
    eye = np.eye(4)
    balanced = np.tile(eye, (40, 1))  # confident, 40 of each class, interleaved (as drawn)
    assert coverage.modes_covered(balanced) == 4
    assert coverage.classifier_score(balanced)[0] == pytest.approx(4.0, rel=1e-6)
    assert coverage.class_kl(balanced, balanced) == pytest.approx(0.0)
    single = np.repeat(eye[:1], 100, axis=0)
    assert coverage.modes_covered(single) == 1
    assert coverage.classifier_score(single)[0] == pytest.approx(1.0, rel=1e-6)
    assert coverage.class_kl(balanced, single) > 0.5
    acc, se, per = coverage.conditional_accuracy(balanced, balanced.argmax(1))
    assert acc == 1.0 and se == 0.0 and per == [1.0] * 4


def test_metric_names_carry_the_protocol() -> None:
    assert n_tag(10_000) == "10k" and n_tag(2500) == "2.5k" and n_tag(300) == "300"
    assert metric_name("fid", 10_000, "mnist-cnn") == "fid10k-mnist-cnn"
    assert kind_of("fid10k-mnist-cnn").key == "fid"
    assert kind_of("memorised-pixels2.5k").key == "memorised-pixels"
    assert kind_of("memorised2.5k-mnist-cnn").key == "memorised"
    assert metric_name("swd", 5000, "x") == "swd5k-lap7" and kind_of("swd5k-lap7").key == "swd"
    n, notes = plan_n(10_000, 5000, 128)
    assert n == 2500 and len(notes) == 1 and "len // 2" in notes[0]
    n, notes = plan_n(10_000, 3000, 128)
    assert n == 1500 and "< 2000" in notes[1]
    with pytest.raises(ConfigError, match="more samples than feature dimensions"):
        plan_n(100, 5000, 128)


def test_laplacian_pyramid_levels_and_exact_reconstruction() -> None:
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 255
    levels = swd.laplacian_pyramid(x)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]
    rebuilt = levels[-1]
    for detail in reversed(levels[:-1]):  # x = detail + blur(upsampled low-pass)
        rebuilt = detail + swd._blur(torch.nn.functional.interpolate(rebuilt, scale_factor=2, mode="nearest"))
    torch.testing.assert_close(rebuilt, x, rtol=0, atol=1e-3)
    assert [lv.shape[-1] for lv in swd.laplacian_pyramid(torch.zeros(1, 1, 28, 28))] == [28, 14]


def test_swd_small_for_one_distribution_and_grows_with_blur_noise_and_colour() -> None:
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(400, 3, 36, 36, generator=g), 5, 1)  # smooth-ish blobs
    real = (torch.rand(400, 3, 32, 32, generator=g) * 60 + base * 200).round().to(torch.uint8)
    other = (torch.rand(400, 3, 32, 32, generator=g) * 60 + base.roll(1, 0) * 200).round().to(torch.uint8)
    same = swd.swd(real, real)  # other patches of the same images: only sampling noise
    floor = swd.swd(other, real).value
    assert set(same.levels) == {32, 16} and same.value < 2 * floor and same.spread > 0
    blurred = swd._blur(other.float()).round().to(torch.uint8)
    tinted = (other.float() * torch.tensor([1.0, 0.8, 0.8]).view(1, 3, 1, 1)).round().to(torch.uint8)
    noisy = (other.float() + torch.randn(other.shape, generator=g) * 25).clamp(0, 255).round().to(torch.uint8)
    for name, imgs in (("blur", blurred), ("tint", tinted), ("noise", noisy)):
        assert swd.swd(imgs, real).value > 3 * floor, name
    assert swd.swd(blurred, real).levels[32] > 10 * swd.swd(other, real).levels[32]
    with pytest.raises(ValueError, match="one shape"):
        swd.swd(real[:, :1], real)


# ---------------------------------------------------------------- on real digits, in learnt features


@pytest.fixture(scope="module")
def digits():
    return open_dataset("mnist-5k")


@pytest.fixture(scope="module")
def fnet(digits):
    return get_feature_net(digits, default_data_root(), steps=FEATURE_STEPS)


@pytest.fixture(scope="module")
def splits(digits):
    perm = torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))
    return [perm[i * 1000 : (i + 1) * 1000] for i in range(4)]


def test_feature_net_is_a_cached_classifier(digits, fnet) -> None:
    assert fnet.name == "mnist-5k-cnn" and fnet.is_classifier and fnet.dim == 128
    assert fnet.accuracy > 0.8
    f = fnet.features(digits.images[:7])
    assert f.shape == (7, 128) and f.dtype == np.float64
    again = get_feature_net(digits, default_data_root(), steps=FEATURE_STEPS)  # from the cache
    assert again.info == fnet.info
    np.testing.assert_allclose(again.features(digits.images[:7]), f, rtol=1e-5, atol=1e-5)
    files = sorted(p.name for p in (default_data_root() / "features").iterdir())
    assert f"{digits.fingerprint}-cnn-s{FEATURE_STEPS}.safetensors" in files
    assert f"{digits.fingerprint}-cnn-s{FEATURE_STEPS}.json" in files


def test_fid_real_near_floor_noise_and_class_means_far_above(digits, fnet, splits) -> None:
    a, b, c, _ = splits
    fa, fb, fc = (fnet.features(digits.images[i]) for i in (a, b, c))
    floor = frechet.fid(fb, fa)
    real = frechet.fid(fc, fa)
    assert real < 2 * floor + 1.0
    noise = torch.randint(0, 256, (1000, 1, 28, 28), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    assert frechet.fid(fnet.features(noise), fa) > 20 * floor + 10
    x, y = digits.images.float(), digits.labels
    means = torch.stack([x[y == k].mean(0) for k in range(10)]).round().to(torch.uint8)
    class_means = means[torch.arange(1000) % 10]
    assert frechet.fid(fnet.features(class_means), fa) > 5 * floor + 5


def test_one_repeated_image_covers_one_mode(digits, fnet, splits) -> None:
    a = splits[0]
    same = digits.images[a[:1]].expand(300, -1, -1, -1)
    p = fnet.probs(same)
    assert coverage.modes_covered(p) == 1
    assert coverage.classifier_score(p)[0] == pytest.approx(1.0, abs=1e-6)
    assert coverage.modes_covered(fnet.probs(digits.images[a])) == 10
    m = prdc.prdc(fnet.features(digits.images[a]), fnet.features(same), k=5)
    assert m.coverage < 0.05 and m.recall < 0.05


def test_real_labelled_images_reach_the_classifiers_accuracy(digits, fnet, splits) -> None:
    b = splits[1]
    acc, _, per = coverage.conditional_accuracy(fnet.probs(digits.images[b]), digits.labels[b].numpy())
    assert acc >= fnet.accuracy - 0.03
    assert len(per) == 10


@pytest.mark.slow
def test_classification_accuracy_score_real_as_fake_equals_real_and_wrong_labels_fall_to_chance(
    digits, splits, tmp_path: Path
) -> None:
    from drawlab.metrics.cas import classification_accuracy_score

    a, b = splits[0], splits[1]
    x, y, xt, yt = digits.images[a], digits.labels[a], digits.images[b], digits.labels[b]
    cpu, cache = torch.device("cpu"), tmp_path  # the real classifier is trained once, then read
    cas, se, real, rse = classification_accuracy_score(x, y, x, y, xt, yt, digits, cpu, steps=60, cache_dir=cache)
    assert cas == real and real > 0.6 and 0 < se < 0.05
    wrong = (y + 1 + torch.randint(9, y.shape, generator=torch.Generator().manual_seed(0))) % 10  # every label wrong
    bad, _, _, _ = classification_accuracy_score(x, wrong, x, y, xt, yt, digits, cpu, steps=60, cache_dir=cache)
    assert bad < 0.3


@pytest.mark.slow
def test_cas_real_value_is_cached_exactly_per_real_sets(digits, splits, tmp_path: Path) -> None:
    """The real-data classifier is trained once per (real sets, seed, schedule): the cache gives the same
    number, another real set or seed gets its own entry, and a damaged entry is recomputed."""
    from drawlab.metrics.cas import real_accuracy

    a, b = splits[0], splits[1]
    args = (digits.images[a], digits.labels[a], digits.images[b], digits.labels[b], digits, torch.device("cpu"))
    first = real_accuracy(*args, 0, 8, tmp_path)  # a short schedule: the cache is the subject
    (entry,) = tmp_path.glob("cas-real-*.json")
    assert real_accuracy(*args, 0, 8, tmp_path) == first == real_accuracy(*args, 0, 8, None)
    entry.write_text(json.dumps({"accuracy": 0.123}))
    assert real_accuracy(*args, 0, 8, tmp_path) == 0.123  # read, not recomputed
    entry.write_text("{damaged")
    assert real_accuracy(*args, 0, 8, tmp_path) == first  # recomputed
    real_accuracy(*args, 1, 8, tmp_path)
    assert len(list(tmp_path.glob("cas-real-*.json"))) == 2


def test_exact_copies_of_training_images_are_memorised(digits, fnet, splits) -> None:
    ref_idx, held_idx, fresh_idx, _ = splits
    ref, held, fresh = digits.images[ref_idx], digits.images[held_idx], digits.images[fresh_idx]
    copies = ref[torch.randperm(len(ref), generator=torch.Generator().manual_seed(2))[:200]]
    px = memorisation.memorisation(memorisation.pixels(ref), memorisation.pixels(held), memorisation.pixels(copies))
    assert px.share == 1.0 and px.threshold > 0 and np.all(px.dist == 0)
    ft = memorisation.memorisation(fnet.features(ref), fnet.features(held), fnet.features(copies))
    assert ft.share == 1.0
    # fresh real images are flagged about 1% of the time, as the held-out ones are by construction
    fr = memorisation.memorisation(memorisation.pixels(ref), memorisation.pixels(held), memorisation.pixels(fresh))
    assert fr.share < 0.05 and 0 <= px.heldout_share <= 0.05  # measured on the half that set no threshold
    worst = memorisation.worst_offenders(px, k=3)
    assert len(worst) == 3 and np.all(px.dist[worst] == 0)
    # class averages sit near many training images at once: not memorised
    x, y = digits.images.float(), digits.labels
    means = torch.stack([x[y == k].mean(0) for k in range(10)]).round().to(torch.uint8)[torch.arange(100) % 10]
    avg = memorisation.memorisation(memorisation.pixels(ref), memorisation.pixels(held), memorisation.pixels(means))
    assert avg.share == 0.0


def test_standardised_memorisation_counts_rescaled_copies_and_not_faint_blobs(digits, splits) -> None:
    ref_idx, held_idx, _, _ = splits
    ref, held = digits.images[ref_idx], digits.images[held_idx]
    target = memorisation.contrast(ref)
    std = lambda x: memorisation.pixels(memorisation.standardise(x, *target))  # noqa: E731
    washed = (ref[:100].float() * 0.5 + 60).round().to(torch.uint8)  # copies, darker and greyer
    faint = ref.float().mean(0, keepdim=True).expand(100, -1, -1, -1)
    faint = (faint * 0.05 + 100 + torch.rand(faint.shape, generator=torch.Generator().manual_seed(0))).round()
    faint = faint.to(torch.uint8)  # almost no contrast
    assert memorisation.memorisation(std(ref), std(held), std(washed)).share == 1.0
    plain_faint = memorisation.memorisation(
        memorisation.pixels(ref), memorisation.pixels(held), memorisation.pixels(faint)
    ).share
    assert memorisation.memorisation(std(ref), std(held), std(faint)).share <= min(plain_faint, 0.05)
    flat = memorisation.standardise(torch.full((2, 1, 4, 4), 7, dtype=torch.uint8), *target)
    assert flat.unique().numel() == 1 and not torch.isnan(flat.float()).any()  # a flat image stays flat


# ---------------------------------------------------------------- unlabelled folders


@pytest.mark.slow
def test_unlabelled_folder_gets_an_autoencoder(tmp_path: Path) -> None:
    folder = write_images(tmp_path / "faces", 300, size=12)
    ds = open_dataset(f"folder:{folder}", root=tmp_path / "root")
    fn = get_feature_net(ds, tmp_path / "root", steps=10)
    assert fn.name == "folder-ae" and not fn.is_classifier and fn.accuracy is None
    assert fn.info["heldout_mse"] > 0 and "folder-ae" in fn.describe()
    assert fn.features(ds.images[:5]).shape == (5, 128)
    with pytest.raises(ValueError):
        fn.probs(ds.images[:5])
    again = get_feature_net(ds, tmp_path / "root", steps=10)
    assert again.info == fn.info and again.tag == fn.tag
    # every folder's net is called folder-ae: the protocol id tells two folders (or two lengths) apart
    other = open_dataset(f"folder:{write_images(tmp_path / 'other', 300, size=12, seed=1)}", root=tmp_path / "root")
    tags = {
        fn.tag,
        get_feature_net(other, tmp_path / "root", steps=10).tag,
        get_feature_net(ds, tmp_path / "root", steps=11).tag,
    }
    assert len(tags) == 3 and all(t.startswith("folder-ae@") for t in tags), tags
