"""The runner's ranking cells: one per defended model, its record, its leaderboard columns."""

from __future__ import annotations

import dataclasses
import io

import pandas as pd
import pytest

from robust_hashing.attacks.ranking import RANKING_ATTACKS, RankingAttack
from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.executors import InlineExecutor
from robust_hashing.benchmark.grid import GridError, load_grid
from robust_hashing.benchmark.runner import run_grid
from robust_hashing.leaderboard.ranking import RANKING_DIR, load_ranking_results
from robust_hashing.metrics.ers import RANKING_FIGURES

from .conftest import make_grid
from .fake_steps import STRENGTH, fake_ers, ranking_figures

DEFENSES = ("none", "good", "better")


def test_ranking_cell_per_defense_runs_and_fills_the_ers_column(catalog, options) -> None:
    grid = make_grid(ranking=True)
    cells = plan(grid, ArtefactCache(options.cache_dir), catalog)
    ranking = [c for c in cells if c.kind == "ranking"]
    assert [c.id for c in ranking] == [f"ranking/fake-16bit-dpsh-test_cnn/{d}" for d in DEFENSES]
    assert [c.deps for c in ranking] == [
        (f"defense/fake-16bit-dpsh-test_cnn/{d}",) for d in DEFENSES
    ]
    hp = ranking[0].config.hp
    assert sorted(hp) == sorted(RANKING_ATTACKS)  # all nine attacks in one cell
    assert all(h["steps"] == RankingAttack.quick["steps"] for h in hp.values())  # quick profile
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert summary.exit_code == 0, summary.failures
    assert all(summary.status[c.id] == "done" for c in ranking)
    records = {r.defense: r for r in load_ranking_results(options.leaderboard_dir / RANKING_DIR)}
    assert sorted(records) == sorted(DEFENSES)
    better = records["better"]
    assert better.ers == pytest.approx(fake_ers(ranking_figures(STRENGTH["better"])))
    assert better.attack_hp["rank_gtt"]["steps"] == RankingAttack.quick["steps"]
    assert better.per_query is not None and len(better.per_query["gtt"]) == better.n_queries
    frame = pd.read_csv(options.leaderboard_dir / "leaderboard.csv").set_index("defense")
    assert {"ers", *RANKING_FIGURES} <= set(frame.columns)
    for defense in DEFENSES:
        figures = ranking_figures(STRENGTH[defense])
        assert frame.loc[defense, "ers"] == pytest.approx(fake_ers(figures), abs=1e-4)
        assert frame.loc[defense, "gtm"] == pytest.approx(figures["gtm"], abs=1e-4)


def test_ranking_cells_change_no_map_column(catalog, options, tmp_path) -> None:
    run_grid(make_grid(ranking=True), options, InlineExecutor(), catalog, stream=io.StringIO())
    with_ranking = pd.read_csv(options.leaderboard_dir / "leaderboard.csv")
    plain_opts = dataclasses.replace(options, leaderboard_dir=tmp_path / "plain")
    run_grid(make_grid(), plain_opts, InlineExecutor(), catalog, stream=io.StringIO())
    plain = pd.read_csv(tmp_path / "plain" / "leaderboard.csv")
    assert "ers" not in plain.columns
    pd.testing.assert_frame_equal(with_ranking[list(plain.columns)], plain)


def test_ranking_grid_entry_is_validated(catalog, options, tmp_path) -> None:
    grid = make_grid(ranking={"hp": {"steps": 7}, "max_queries": 12})
    cell = next(c for c in plan(grid, ArtefactCache(options.cache_dir), catalog)
                if c.kind == "ranking")  # fmt: skip
    assert cell.config.max_queries == 12 and cell.config.hp["rank_es"]["steps"] == 7
    assert not [c for c in plan(make_grid(), ArtefactCache(options.cache_dir), catalog)
                if c.kind == "ranking"]  # fmt: skip
    with pytest.raises(GridError, match="key 'ranking'"):
        make_grid(ranking="yes")
    with pytest.raises(GridError, match=r"ranking\.max_queries"):
        make_grid(ranking={"max_queries": 0})
    with pytest.raises(GridError, match=r"ranking\.hp\.bogus"):
        plan(make_grid(ranking={"hp": {"bogus": 1}}), ArtefactCache(options.cache_dir), catalog)


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_shipped_grids_run_the_ranking_protocol(name: str) -> None:
    assert load_grid(f"benchmark/{name}.yaml").ranking is not None


def test_real_ranking_step_on_a_tiny_trained_model(tmp_path) -> None:
    """The real step end to end: ten figures within their ranges, ERS from them, clean R@1."""
    from pathlib import Path

    from robust_hashing.benchmark.catalog import RegistryCatalog
    from robust_hashing.benchmark.grid import parse_grid
    from robust_hashing.benchmark.runner import RunOptions
    from robust_hashing.metrics.ers import ers

    flickr = str(Path(__file__).resolve().parents[1] / "data" / "flickr25k")
    data_kwargs = {"root": flickr, "batch_size": 8, "eval_batch_size": 16, "resize": 32,
                   "crop": 32, "random_crop": False}  # fmt: skip
    grid = parse_grid(
        {
            "name": "ranking-e2e", "profile": "quick", "top_k": 10, "max_queries": 8,
            "datasets": [{"name": "flickr25k", "kwargs": data_kwargs}], "bits": [16],
            "victim": {"method": "dpsh", "backbone": "test_cnn", "hp": {"lr": 0.01}},
            "trainer": {"accelerator": "cpu", "clean_epochs": 1},
            "defenses": ["none"], "attacks": [{"name": "hag", "hp": {"steps": 1}}],
            "ranking": {"hp": {"steps": 3}},
        },
        "ranking-e2e.yaml",
    )  # fmt: skip
    opts = RunOptions(cache_dir=tmp_path / "cache", leaderboard_dir=tmp_path / "lb",
                      entry_points=False, poll_seconds=0.01)  # fmt: skip
    summary = run_grid(grid, opts, InlineExecutor(), RegistryCatalog(), stream=io.StringIO())
    assert summary.exit_code == 0, summary.failures
    (record,) = load_ranking_results(tmp_path / "lb" / RANKING_DIR)
    assert record.n_queries == 8 and record.threat["eps"] == pytest.approx(8 / 255)
    assert all(record.attack_hp[name]["steps"] == 3 for name in RANKING_ATTACKS)
    f = record.figures
    assert all(0 <= f[k] <= 100 for k in ("ca_plus", "ca_minus", "qa_plus", "qa_minus", "gtt"))
    assert -1 <= f["tma"] <= 1 and 0 <= f["es_d"] <= 2
    assert record.ers == pytest.approx(ers(f)) and record.ers_clean == pytest.approx(
        ers(record.clean_figures)
    )
    assert record.clean_figures["es_d"] == 0  # a clean query does not move its own code
    assert record.per_query is not None and len(record.per_query["ltm"]) == 8
    frame = pd.read_csv(tmp_path / "lb" / "leaderboard.csv")
    assert frame.loc[0, "ers"] == pytest.approx(record.ers, abs=1e-4)
    assert frame.loc[0, "ranking_n_queries"] == 8
