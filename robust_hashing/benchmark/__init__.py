"""Benchmark runner: grid YAML → cached artefact graph → per-cell worker processes → leaderboard.

Entry point: ``robust-hashing benchmark --grid benchmark/quick.yaml`` (:mod:`.cli`).
"""

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.catalog import Catalog, RegistryCatalog
from robust_hashing.benchmark.cells import Cell, plan
from robust_hashing.benchmark.grid import Grid, GridError, load_grid, parse_grid
from robust_hashing.benchmark.runner import RunOptions, RunSummary, run_grid
from robust_hashing.plugins import import_plugin, load_plugins

__all__ = [
    "ArtefactCache",
    "Catalog",
    "Cell",
    "Grid",
    "GridError",
    "RegistryCatalog",
    "RunOptions",
    "RunSummary",
    "import_plugin",
    "load_grid",
    "load_plugins",
    "parse_grid",
    "plan",
    "run_grid",
]
