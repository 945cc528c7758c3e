from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.catalog import RegistryCatalog
from robust_hashing.benchmark.cell_types import AttackConfig, DefenseConfig, SweepInfo
from robust_hashing.benchmark.cells import (
    SelectionError,
    plan,
    skipped_victims,
    victim_skip_reason,
)

from .conftest import FakeCatalog, make_grid


def test_plan_expands_all_in_dependency_order(tmp_path: Path) -> None:
    grid = make_grid(defenses="all", attacks="all", bits=[16, 32])
    cells = plan(grid, ArtefactCache(tmp_path), FakeCatalog())
    kinds = [c.kind for c in cells]
    # per bits: 1 clean + 5 defenses × (1 + 6 attack/mode pairs + 1 sweep)
    assert kinds.count("clean") == 2 and kinds.count("defense") == 10
    assert kinds.count("attack") == 2 * 5 * 6 and kinds.count("sweep") == 2 * 5
    seen: set[str] = set()
    for cell in cells:
        assert set(cell.deps) <= seen
        seen.add(cell.id)
    ids = {c.id for c in cells}
    assert "attack/fake-16bit-dpsh-test_cnn/good/strong-targeted" in ids
    assert len({c.key for c in cells}) == len(cells)


def test_quick_profile_merges_class_quick_settings(tmp_path: Path) -> None:
    grid = make_grid(attacks=["weak", {"name": "strong", "mode": "untargeted", "hp": {"steps": 9}}])
    cells = plan(grid, ArtefactCache(tmp_path), FakeCatalog())
    attacks = [c for c in cells if c.kind == "attack" and "/none/" in c.id]
    assert [a.part(AttackConfig).hp["steps"] for a in attacks] == [3, 9]
    good = next(c for c in cells if c.id.endswith("/good")).part(DefenseConfig)
    assert good.trainer["max_epochs"] == 1 and "max_epochs" not in good.hp
    paper = plan(
        make_grid(profile="paper", attacks=["weak"]), ArtefactCache(tmp_path), FakeCatalog()
    )
    assert next(c for c in paper if c.kind == "attack").part(AttackConfig).hp == {}


def test_only_keeps_dependencies_and_unsupported_mode_raises(tmp_path: Path) -> None:
    cells = plan(make_grid(), ArtefactCache(tmp_path), FakeCatalog(), only="better/tgt")
    assert [c.kind for c in cells] == ["clean", "defense", "attack"]
    with pytest.raises(ValueError, match="does not support targeted"):
        plan(make_grid(attacks=[{"name": "weak", "mode": "targeted"}]), ArtefactCache(tmp_path),
             FakeCatalog())  # fmt: skip


def test_csq_cells_without_hadamard_centers_are_not_planned(tmp_path: Path) -> None:
    grid = make_grid(victim={"method": "csq", "backbone": "test_cnn"}, bits=[16, 32, 48, 64])
    cells = plan(grid, ArtefactCache(tmp_path), FakeCatalog())
    assert sorted(c.victim.bits for c in cells if c.kind == "clean") == [16, 32, 64]
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


def test_only_matching_no_cell_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        SelectionError, match=re.escape("--only 'zzz' matches no cell of grid tiny.yaml")
    ):
        plan(make_grid(), ArtefactCache(tmp_path), FakeCatalog(), only="zzz")
    # a substring matches (the pattern is wrapped in *...*)
    assert len(plan(make_grid(), ArtefactCache(tmp_path), FakeCatalog(), only="good/weak")) == 3


def test_clean_key_follows_the_lists_not_where_they_live(tmp_path: Path) -> None:
    import shutil

    fixture = Path(__file__).resolve().parents[1] / "data" / "flickr25k"
    here, there = tmp_path / "a" / "flickr", tmp_path / "b" / "copy of flickr"
    shutil.copytree(fixture, here)
    shutil.copytree(fixture, there)

    def clean(root: Path, **kwargs: Any) -> Any:
        dataset = {"name": "flickr25k", "kwargs": {"root": str(root), **kwargs}}
        grid = make_grid(datasets=[dataset], defenses=["none"], attacks=["hag"])
        return next(
            c for c in plan(grid, ArtefactCache(tmp_path), RegistryCatalog()) if c.kind == "clean"
        )

    first, moved = clean(here), clean(there, num_workers=2, cache_images=True)
    assert first.key == moved.key and first.victim.dataset_id == moved.victim.dataset_id
    assert moved.victim.dataset_kwargs["root"] == str(there)  # the worker still gets it
    assert clean(here, batch_size=7).key != first.key
    lists = sorted(there.glob("*.txt"))
    lists[0].write_text(lists[0].read_text() + lists[0].read_text().splitlines()[0] + "\n")
    edited = clean(there)
    assert edited.key != first.key and edited.victim.dataset_id != first.victim.dataset_id


def test_sweep_cells_depend_on_the_undefended_models_bounded_untargeted_attacks(
    tmp_path: Path,
) -> None:
    grid = make_grid(defenses=["none", "good"], attacks=["weak", "strong", "tgt"])
    cells = {c.id: c for c in plan(grid, ArtefactCache(tmp_path), FakeCatalog())}
    victim = "fake-16bit-dpsh-test_cnn"
    sweep = cells[f"sweep/{victim}/good"]
    assert sweep.deps[0] == f"defense/{victim}/good"  # the model it scores
    assert set(sweep.deps[1:]) == {f"attack/{victim}/{d}/{a}" for d in ("none", "good")
                                   for a in ("weak", "strong")}  # fmt: skip
    assert sweep.part(SweepInfo).source_attacks == {
        a: cells[f"attack/{victim}/none/{a}"].key for a in ("weak", "strong")
    }
    assert set(cells[f"sweep/{victim}/none"].deps[1:]) == {
        f"attack/{victim}/none/{a}" for a in ("weak", "strong")
    }
    without_none = plan(make_grid(defenses=["good"]), ArtefactCache(tmp_path), FakeCatalog())
    assert not [c for c in without_none if c.kind == "sweep"]  # no transfer source
    targeted_only = plan(make_grid(attacks=["tgt"]), ArtefactCache(tmp_path), FakeCatalog())
    assert not [c for c in targeted_only if c.kind == "sweep"]


def test_all_leaves_out_sanity_baselines_but_a_named_one_runs(tmp_path: Path) -> None:
    """``in_all = False`` (the ``noise`` attack, the ``noise_aug`` defense) keeps a class out
    of ``all``; naming it still plans it."""
    catalog = RegistryCatalog()
    every = make_grid(defenses="all", attacks="all", datasets=[{"name": "embedded"}])
    ids = [c.id for c in plan(every, ArtefactCache(tmp_path), catalog)]
    assert not any("/noise" in i for i in ids)  # neither noise nor noise_aug
    assert any(i.endswith("/cgat") for i in ids) and any("/hag" in i for i in ids)
    named = make_grid(defenses=["noise_aug"], attacks=["noise"], datasets=[{"name": "embedded"}])
    ids = [c.id for c in plan(named, ArtefactCache(tmp_path), catalog)]
    assert any(i.endswith("/noise_aug") for i in ids) and any(i.endswith("/noise") for i in ids)
