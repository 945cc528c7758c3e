"""``fit`` with a model argument its class refuses: one line naming it, exit 2, nothing written."""

from __future__ import annotations

import pytest

from robust_hashing.main import main
from tests.test_main import NUSWIDE, _fit_config, _one_error_line


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--model.init_args.loss", "nope"], "unknown loss 'nope'; known: csq, dph, dpsh"),
        (["--model.init_args.bits", "-4"], "bits must be positive, got -4"),
        (
            ["--model.init_args.loss", "csq", "--model.init_args.bits", "48"],
            "CSQ needs a power-of-2 code length for its Hadamard centers, got K=48",
        ),
    ],
    ids=["loss-name", "negative-bits", "csq-48-bits"],
)
def test_a_refused_model_argument_is_one_line(
    options, expected, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _fit_config(tmp_path, NUSWIDE)
    before = sorted(tmp_path.rglob("*"))
    assert main(["fit", "--config", str(config), *options]) == 2
    err = capsys.readouterr().err
    line = _one_error_line(err)
    assert line.startswith(
        f"robust-hashing fit: error: robust_hashing.tasks.HashingTask: {expected}"
    )
    assert len([x for x in err.splitlines() if x.strip() and not x.startswith("Seed set")]) == 1
    assert sorted(tmp_path.rglob("*")) == before  # no run folder, config or checkpoint
