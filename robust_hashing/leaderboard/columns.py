"""Column names of the leaderboard frame, shared by the renderer and the page (no imports).

Kept apart from :mod:`robust_hashing.leaderboard.render` so that the page modules can name
the columns without importing the renderer, which imports them.
"""

from __future__ import annotations

GROUP_COLUMNS = [
    "dataset", "bits", "method", "backbone", "profile", "threat", "top_k", "n_queries",
]  # fmt: skip
ID_COLUMNS = [*GROUP_COLUMNS, "defense"]
SUMMARY_COLUMNS = [
    "rank", "clean_map", "worst_case_map", "worst_case_map_se", "min_attack_map",
    "min_attack_map_se", "worst_attack", "worst_case_tmap", "worst_case_tmap_se", "flags",
    "missing", "source", "notes",
]  # fmt: skip
TARGETED_SUFFIX = "-targeted"
