"""The standard Inception FID through torch-fidelity, on random weights saved locally (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from drawlab.cli import main
from drawlab.errors import ConfigError
from drawlab.metrics import inception

pytestmark = pytest.mark.slow  # the Inception network: seconds per test


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dict of torch-fidelity's InceptionV3 with random weights, built without any download."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3 as Net

    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    mp = pytest.MonkeyPatch()
    mp.setattr(torch, "load", lambda *a, **k: {})
    mp.setattr(Net, "load_state_dict", lambda self, sd, *a, **k: None)
    net = Net("inception-v3-compat", ["2048"], feature_extractor_weights_path="unused")
    mp.undo()
    torch.save(net.state_dict(), path)
    return path


def test_inception_fid_is_zero_for_the_same_set_and_positive_otherwise(random_inception_weights: Path) -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8, generator=g)  # grey: repeated to RGB
    b = torch.zeros_like(a)
    same = inception.inception_fid(a, a, random_inception_weights, torch.device("cpu"))
    other = inception.inception_fid(b, a, random_inception_weights, torch.device("cpu"))
    assert abs(same) < 1e-3 and other > same


def test_missing_weights_is_a_one_line_error(cgan_run: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        inception.check_weights(tmp_path / "nope.pth")
    assert main(["evaluate", str(cgan_run), "--inception-weights", str(tmp_path / "nope.pth")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--inception-weights" in err[0]


def test_evaluate_reports_the_inception_fid_beside_its_floor(
    cgan_run: Path, tmp_path: Path, monkeypatch, random_inception_weights: Path
) -> None:
    import json
    import shutil

    calls = []
    monkeypatch.setattr(
        inception,
        "inception_fid",  # the real one is tested above; 299x299 is slow on 2 cores
        lambda fake, real, w, dev: calls.append((len(fake), len(real), Path(w))) or 12.5 - len(calls),
    )
    run = tmp_path / "run"
    shutil.copytree(cgan_run, run)
    assert (
        main(
            [
                "evaluate",
                str(run),
                "--n",
                "300",
                "--feature-steps",
                "60",
                "--inception-weights",
                str(random_inception_weights),
            ]
        )
        == 0
    )
    rec = json.loads((run / "eval.json").read_text())
    entry = rec["metrics"]["fid300-inception-v3"]
    assert entry["value"] == 11.5 and entry["real"] == 10.5
    assert calls == [(300, 300, random_inception_weights)] * 2
