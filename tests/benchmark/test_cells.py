from __future__ import annotations

from pathlib import Path

import pytest

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cells import (
    RegistryCatalog,
    plan,
    skipped_victims,
    supported_modes,
    victim_skip_reason,
)

from .conftest import FakeCatalog, make_grid


def test_plan_expands_all_in_dependency_order(tmp_path: Path) -> None:
    grid = make_grid(defenses="all", attacks="all", bits=[16, 32])
    cells = plan(grid, ArtefactCache(tmp_path), FakeCatalog())
    kinds = [c.kind for c in cells]
    # per bits: 1 clean + 4 defenses × (1 + 6 attack/mode pairs)
    assert kinds.count("clean") == 2 and kinds.count("defense") == 8
    assert kinds.count("attack") == 2 * 4 * 6
    seen: set[str] = set()
    for cell in cells:
        assert set(cell.deps) <= seen
        seen.add(cell.id)
    ids = {c.id for c in cells}
    assert "attack/fake-16bit-dpsh-test_cnn/good/strong-targeted" in ids
    assert len({c.key for c in cells}) == len(cells)


def test_quick_profile_merges_class_quick_settings(tmp_path: Path) -> None:
    grid = make_grid(attacks=["weak", {"name": "weak", "mode": "untargeted", "hp": {"steps": 9}}])
    cells = plan(grid, ArtefactCache(tmp_path), FakeCatalog())
    attacks = [c for c in cells if c.kind == "attack" and "/none/" in c.id]
    assert [a.config["hp"]["steps"] for a in attacks] == [3, 9]
    good = next(c for c in cells if c.id.endswith("/good"))
    assert good.config["trainer"]["max_epochs"] == 1 and "max_epochs" not in good.config["hp"]
    paper = plan(
        make_grid(profile="paper", attacks=["weak"]), ArtefactCache(tmp_path), FakeCatalog()
    )
    assert next(c for c in paper if c.kind == "attack").config["hp"] == {}


def test_only_keeps_dependencies_and_unsupported_mode_raises(tmp_path: Path) -> None:
    cells = plan(make_grid(), ArtefactCache(tmp_path), FakeCatalog(), only="better/tgt")
    assert [c.kind for c in cells] == ["clean", "defense", "attack"]
    with pytest.raises(ValueError, match="does not support targeted"):
        plan(make_grid(attacks=[{"name": "weak", "mode": "targeted"}]), ArtefactCache(tmp_path),
             FakeCatalog())  # fmt: skip


def test_supported_modes_reads_both_spellings() -> None:
    assert supported_modes(type("A", (), {"supported_mode": ("targeted",)})) == ("targeted",)
    assert supported_modes(type("B", (), {})) == ("untargeted",)


def test_csq_cells_without_hadamard_centers_are_not_planned(tmp_path: Path) -> None:
    grid = make_grid(victim={"method": "csq", "backbone": "test_cnn"}, bits=[16, 32, 48, 64])
    cells = plan(grid, ArtefactCache(tmp_path), FakeCatalog())
    assert sorted(c.meta["bits"] for c in cells if c.kind == "clean") == [16, 32, 64]
    assert not any("48bit" in c.id for c in cells)
    [line] = skipped_victims(grid, FakeCatalog())
    assert line.startswith("clean/fake-48bit-csq-test_cnn and the cells that depend on it: ")
    assert "power-of-2" in line and "K=48" in line and "\n" not in line
    # other methods plan every code length
    dpsh = make_grid(bits=[16, 32, 48, 64])
    assert skipped_victims(dpsh, FakeCatalog()) == []
    assert len([c for c in plan(dpsh, ArtefactCache(tmp_path), FakeCatalog())
                if c.kind == "clean"]) == 4  # fmt: skip


def test_victim_skip_reason_asks_the_loss() -> None:
    catalog = RegistryCatalog()
    csq = make_grid(victim={"method": "csq"})
    assert victim_skip_reason(csq, catalog, 48) is not None
    assert [victim_skip_reason(csq, catalog, k) for k in (16, 32, 64)] == [None] * 3
    for method in ("dph", "dpsh", "dpsh_saat", "hashnet"):
        assert victim_skip_reason(make_grid(victim={"method": method}), catalog, 48) is None
    assert victim_skip_reason(make_grid(victim={"method": "no_such"}), catalog, 48) is None
