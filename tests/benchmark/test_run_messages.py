"""The runner says what it reuses: cached / to-run counts at the start and at the end."""

from __future__ import annotations

import dataclasses
import io
import re

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.executors import InlineExecutor
from robust_hashing.benchmark.runner import run_grid

from .conftest import make_grid


def _run(grid, options, catalog) -> tuple[str, dict[str, str]]:
    out = io.StringIO()
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=out)
    assert summary.exit_code == 0, summary.failures
    return out.getvalue(), summary.status


def test_counts_of_cached_and_to_run_cells(catalog, options) -> None:
    grid = make_grid()
    part = dataclasses.replace(options, only="/good")  # the `good` defense and what it needs
    n_part = len(plan(grid, ArtefactCache(options.cache_dir), catalog, only=part.only))
    n_all = len(plan(grid, ArtefactCache(options.cache_dir), catalog))
    assert 0 < n_part < n_all
    text, status = _run(grid, part, catalog)
    assert text.splitlines()[0] == f"{n_part} cells: 0 cached, {n_part} to run"
    assert re.search(rf"\nfinished in \d+\.\ds \(0 of {n_part} cached\); leaderboard: ", text)
    # the whole grid reuses those cells and runs the others
    text, status = _run(grid, options, catalog)
    assert text.splitlines()[0] == f"{n_all} cells: {n_part} cached, {n_all - n_part} to run"
    assert sum(s == "cached" for s in status.values()) == n_part
    assert f"({n_part} of {n_all} cached)" in text
    assert sum(s == "done" for s in status.values()) == n_all - n_part
    # a rerun reuses everything, and says so at both ends
    text, status = _run(grid, options, catalog)
    assert text.splitlines()[0] == f"{n_all} cells: {n_all} cached, 0 to run"
    assert re.search(rf"\nfinished in \d+\.\ds \({n_all} of {n_all} cached\); leaderboard: ", text)
    assert set(status.values()) == {"cached"}
