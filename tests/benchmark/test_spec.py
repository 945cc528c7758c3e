"""The typed cell spec: ``cell.json``, keys and result paths pinned; JSON round trip."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, fields
from pathlib import Path
from typing import Any

import pytest

from robust_hashing.benchmark import cache as cache_module
from robust_hashing.benchmark import cell_types
from robust_hashing.benchmark import cells as cells_module
from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.runner import RunOptions, Scheduler
from robust_hashing.benchmark.spec import CellSpec, Runtime
from robust_hashing.benchmark.summary import cell_result
from robust_hashing.leaderboard.schema import result_path

from .conftest import FakeCatalog, make_grid

# Written by the runner before the cell spec was typed (the dict layout of that code), for
# the grid of ``_pinned_cells``; the typed spec must reproduce it byte for byte.
PINNED = Path(__file__).with_name("data") / "cell_specs.json"
PAYLOAD: dict[str, Any] = {
    "result": {
        "clean_map": 0.5, "adv_map": 0.4, "asr": 0.1, "linf": 0.03, "l2": 1.0, "rmse": 0.01,
        "n_queries": 80, "top_k": 5000,
    },
    "environment": {
        "code_commit": "c", "python": "p", "torch": "t", "lightning": "l", "device": "d",
    },
    "seed": 0,
    "seconds": 1.0,
}  # fmt: skip


def _pinned_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Scheduler]:
    """The pinned grid planned in ``tmp_path`` with the code digests held fixed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cache_module, "code_version", lambda: {"package": "X", "source": "Y"})
    monkeypatch.setattr(cells_module, "class_digest", lambda cls: "digest-" + cls.__name__)
    grid = make_grid(
        defenses=["none", {"name": "good", "alias": "good2", "hp": {"lam": 1}}],
        attacks=["weak", "strong"],
        max_queries=8,
    )
    opts = RunOptions(
        cache_dir=Path("cache"), steps="fake_steps.py", entry_points=False, plugins=["p"]
    )
    cells = plan(grid, ArtefactCache(opts.cache_dir), FakeCatalog())
    return grid, Scheduler(cells, grid, opts, executor=None)  # type: ignore[arg-type]


def test_cell_json_keys_and_result_paths_are_the_pinned_ones(tmp_path, monkeypatch) -> None:
    grid, scheduler = _pinned_cells(tmp_path, monkeypatch)
    expected = json.loads(PINNED.read_text())
    assert [c.id for c in scheduler.cells] == [row["id"] for row in expected]
    for cell, row in zip(scheduler.cells, expected, strict=True):
        scheduler._spec(cell, [])
        assert (cell.key, list(cell.deps), cell.devices) == (
            row["key"],
            row["deps"],
            row["devices"],
        )
        written = (cell.dir / "cell.json").read_text()
        assert written == json.dumps(row["spec"], indent=2, sort_keys=True) + "\n", cell.id
        if cell.kind == "attack":
            assert str(result_path("R", cell_result(cell, PAYLOAD, grid))) == row["result_path"]


def test_from_json_gives_back_the_spec(tmp_path, monkeypatch) -> None:
    _, scheduler = _pinned_cells(tmp_path, monkeypatch)
    for cell in scheduler.cells:
        data = scheduler._spec(cell, [])
        spec = CellSpec.from_json(json.loads(json.dumps(data)))
        assert spec.to_json() == data
        assert spec.cell.id == cell.id and spec.cell.kind == cell.kind
        assert spec.cell.hashed_config() == cell.hashed_config() and spec.cell.meta == cell.meta
        assert spec.upstream == {scheduler.by_id[d].kind: scheduler.by_id[d].dir for d in cell.deps}


def test_each_value_is_stored_once() -> None:
    names = [
        f.name
        for cls in (
            cell_types.Victim, cell_types.DefenseInfo, cell_types.AttackInfo,
            cell_types.SweepInfo, cell_types.RankingInfo, cell_types.CleanConfig,
            cell_types.DefenseConfig, cell_types.AttackConfig, cell_types.SweepConfig,
            cell_types.RankingConfig, cell_types.Cell, CellSpec, Runtime,
        )
        for f in fields(cls)
    ]  # fmt: skip
    for name in ("bits", "dataset", "dataset_id", "method", "backbone", "seed", "mode"):
        assert names.count(name) == 1, name


def test_a_smaller_batch_leaves_the_original_spec_alone(tmp_path, monkeypatch) -> None:
    _, scheduler = _pinned_cells(tmp_path, monkeypatch)
    cell = next(c for c in scheduler.cells if c.kind == "attack")
    spec = CellSpec.from_json(scheduler._spec(cell, []))
    half = spec.with_dataset_kwargs(eval_batch_size=8)
    assert half.cell.victim.dataset_kwargs == {"n": 1, "eval_batch_size": 8}
    assert spec.cell.victim.dataset_kwargs == {"n": 1}
    assert half.cell.key == spec.cell.key and half.to_json()["config"] == spec.to_json()["config"]
    with pytest.raises(FrozenInstanceError):
        spec.cell.victim.bits = 64  # type: ignore[misc]


def test_a_spec_of_an_unknown_kind_or_missing_a_field_is_refused(tmp_path, monkeypatch) -> None:
    _, scheduler = _pinned_cells(tmp_path, monkeypatch)
    data = scheduler._spec(next(c for c in scheduler.cells if c.kind == "sweep"), [])
    with pytest.raises(ValueError, match="unknown kind 'nope'"):
        CellSpec.from_json({**data, "kind": "nope"})
    del data["meta"]["own_attacks"]
    with pytest.raises(ValueError, match="missing field 'own_attacks'"):
        CellSpec.from_json(data)
