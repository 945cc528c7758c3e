"""Leaderboard: validated per-cell result JSONs rendered into a deterministic CSV and HTML page."""

from robust_hashing.leaderboard.render import (
    check_leaderboard,
    render,
    results_frame,
    to_console_text,
    to_csv_text,
    write_leaderboard,
)
from robust_hashing.leaderboard.schema import (
    CellResult,
    Provenance,
    SchemaError,
    dump_result,
    load_result,
    load_results,
    parse_result,
    result_path,
)

__all__ = [
    "CellResult",
    "Provenance",
    "SchemaError",
    "check_leaderboard",
    "dump_result",
    "load_result",
    "load_results",
    "parse_result",
    "render",
    "result_path",
    "results_frame",
    "to_console_text",
    "to_csv_text",
    "write_leaderboard",
]
