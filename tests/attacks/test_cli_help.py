"""``attack --list``, ``--quick``'s query count and the default ``--top-k``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import yaml

from robust_hashing import datamodules
from robust_hashing.attacks import ATTACKS, cli, cli_help, list_attacks
from robust_hashing.attacks.cli_help import (
    FALLBACK_TOP_K,
    QUICK_QUERIES,
    default_top_k,
    format_attack_list,
    max_queries,
)

from .conftest import BITS, train_toy_model
from .test_cli import FakeDataModule

ROOT = Path(__file__).resolve().parents[2]


def test_quick_query_count_is_the_quick_profiles() -> None:
    grid = yaml.safe_load((ROOT / "benchmark" / "quick.yaml").read_text())
    assert QUICK_QUERIES == grid["max_queries"] == 80
    assert max_queries(None, quick=True) == 80 and max_queries(5, quick=True) == 5
    assert max_queries(None, quick=False) is None and max_queries(7, quick=False) == 7
    assert f"first {QUICK_QUERIES} queries" in " ".join(cli._parser().format_help().split())


def test_default_top_k_is_the_checkpoints() -> None:
    assert default_top_k({"hyper_parameters": {"bits": 32, "top_k": 5000}}) == 5000
    assert default_top_k({"hyper_parameters": {"bits": 32, "top_k": 1000}}) == 1000
    assert default_top_k({"hyper_parameters": {"bits": 32, "top_k": None}}) is None
    assert default_top_k({"hyper_parameters": {"bits": 32}}) == FALLBACK_TOP_K == 1000
    # the packaged default config (README: `robust-hashing fit`) validates at 1000
    from robust_hashing.cli import default_config_path

    config = yaml.safe_load(default_config_path().read_text())
    assert config["model"]["init_args"]["top_k"] == 1000


def test_list_shows_modes_bounds_and_the_docstring_line(capsys) -> None:
    names = list_attacks()
    assert cli.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["attack", "modes", "bounded", "description"]
    assert lines[1:] == format_attack_list(names).splitlines()[1:]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(names)
    for name in names:
        cls = ATTACKS.get(name)
        first = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "")
        assert rows[name].endswith(re.sub(r":class:`(\w+)`", r"\1", first)), name
        assert ", ".join(cls.supported_modes) in rows[name]
    assert " no (RMSE reported) " in rows["prosgan"] and " yes " in rows["hag"]
    assert "untargeted, targeted" in rows["mainstay"]
    assert rows["dhta"].endswith("(see P2P for arguments).") and "`" not in "".join(lines)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.set_num_threads(1)
    trained = train_toy_model(steps=5)[0]
    path = tmp_path_factory.mktemp("ckpt") / "toy.ckpt"
    state = {f"model.{k}": v for k, v in trained.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"bits": BITS, "backbone": "test_cnn"}, "state_dict": state}, path
    )
    return path


def test_quick_attacks_the_quick_query_count(checkpoint, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: FakeDataModule())
    monkeypatch.setattr(cli_help, "QUICK_QUERIES", 3)  # the fake data has only 6 queries
    argv = ["--checkpoint", str(checkpoint), "--attack", "hag", "--hp", "steps=1"]
    argv += ["--accelerator", "cpu", "--out"]
    assert cli.main([*argv, str(tmp_path / "q.json"), "--quick"]) == 0
    quick = json.loads((tmp_path / "q.json").read_text())
    assert quick["n_queries"] == 3 and quick["top_k"] == FALLBACK_TOP_K  # none stored
    assert cli.main([*argv, str(tmp_path / "m.json"), "--quick", "--max-queries", "5"]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["n_queries"] == 5
    assert cli.main([*argv, str(tmp_path / "all.json")]) == 0
    assert json.loads((tmp_path / "all.json").read_text())["n_queries"] == 6
