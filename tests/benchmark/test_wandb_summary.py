"""The wandb summary run: one run per leaderboard, its figures as HTML, reruns add no run."""

from __future__ import annotations

from pathlib import Path

import pytest

from robust_hashing.benchmark.grid import Grid
from robust_hashing.benchmark.wandb_summary import figure_pages, log_wandb_summary, summary_run_id
from robust_hashing.leaderboard import parse_result, results_frame
from tests.leaderboard.conftest import make_record


def _grid(leaderboard_dir: Path) -> Grid:
    return Grid(
        name="tiny", profile="quick", seed=0, top_k=None, datasets=(), bits=(32,),
        method="dpsh", backbone="small_cnn", victim_hp={}, trainer={}, defenses=None,
        attacks=None, wandb={"project": "test"}, leaderboard_dir=str(leaderboard_dir),
    )  # fmt: skip


def _frame():
    cells = [("cgat", "hag", "untargeted", 0.4), ("none", "hag", "untargeted", 0.2),
             ("cgat", "dhta", "targeted", 0.3), ("none", "dhta", "targeted", 0.7)]  # fmt: skip
    return results_frame([parse_result(make_record(d, a, m, figure=v)) for d, a, m, v in cells])


def test_run_id_is_stable_per_leaderboard_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    one = summary_run_id("boards/quick")
    assert one == summary_run_id(tmp_path / "boards" / "quick")  # same folder, other spelling
    assert one != summary_run_id(tmp_path / "boards" / "paper")
    assert one.startswith("leaderboard-") and len(one) == len("leaderboard-") + 16


def test_figures_are_self_contained_html_pages() -> None:
    pages = figure_pages(_frame())
    assert set(pages) == {"bars", "tradeoff", "heatmap_untargeted", "heatmap_targeted"}
    for page in pages.values():
        assert page.startswith("<!DOCTYPE html>") and "<svg" in page
        assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_rerun_logs_into_the_same_run_and_adds_no_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cache, board = tmp_path / "cache", tmp_path / "board"
    grid, frame = _grid(board), _frame()
    first = log_wandb_summary(frame, {}, cache / "wandb", grid, board)
    [run] = (cache / "wandb" / "wandb").glob("offline-run-*")
    assert f"-{first}" in run.name  # beside the cache it was given, named by its id
    html = list(run.rglob("*.html"))
    assert len(html) == 4 and any("heatmap_targeted" in p.name for p in html)
    assert log_wandb_summary(frame, {}, cache / "wandb", grid, board) == first
    runs = list((cache / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and f"-{first}" in runs[0].name
    other = log_wandb_summary(frame, {}, cache / "wandb", grid, tmp_path / "other")
    assert other != first  # another leaderboard: a run of its own
    assert len(list((cache / "wandb" / "wandb").glob("offline-run-*"))) == 2


def test_prune_removes_every_earlier_folder_of_the_run_only(tmp_path: Path) -> None:
    """wandb names a same-second restart ``...-<id>-1``; those go too, other runs stay."""
    from robust_hashing.benchmark.wandb_summary import prune_offline_runs

    root = tmp_path / "wandb"
    names = ["offline-run-1-leaderboard-aa", "offline-run-2-leaderboard-aa-1",
             "offline-run-3-leaderboard-aa", "offline-run-1-leaderboard-bb"]  # fmt: skip
    for name in names:
        (root / name).mkdir(parents=True)
    removed = prune_offline_runs(tmp_path, "leaderboard-aa", keep=root / names[2])
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in root.iterdir()) == sorted(names[2:])
