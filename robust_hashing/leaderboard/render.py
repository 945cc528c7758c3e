"""Deterministic leaderboard: result JSONs → one DataFrame → ``leaderboard.csv`` / ``.html``.

One row per (dataset, bits, method, backbone, profile, defense) with the clean mAP, the
worst-case robust mAP (minimum mAP over the untargeted attacks), the rank by it inside its
(dataset, bits, method, backbone, profile) group, and one column per attack: the mAP under
attack for untargeted attacks, the t-mAP (``<attack>-targeted``; lower is better for a
defense) for targeted ones. Columns come in a fixed order and rows are sorted, so the CSV
is a pure function of the JSON files.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import pandas as pd

from robust_hashing.io import write_text_atomic
from robust_hashing.leaderboard.schema import CellResult, load_results

GROUP_COLUMNS = ["dataset", "bits", "method", "backbone", "profile"]
ID_COLUMNS = [*GROUP_COLUMNS, "defense"]
SUMMARY_COLUMNS = ["rank", "clean_map", "robust_map", "worst_attack"]
FLOAT_FORMAT = "%.4f"
CSV_NAME = "leaderboard.csv"
HTML_NAME = "leaderboard.html"


def attack_columns(results: list[CellResult]) -> list[str]:
    """Untargeted attack columns (sorted) followed by targeted ones (sorted)."""
    untargeted = sorted({r.column for r in results if r.mode == "untargeted"})
    targeted = sorted({r.column for r in results if r.mode == "targeted"})
    return untargeted + targeted


def _row(cells: list[CellResult], columns: list[str]) -> dict[str, object]:
    cells = sorted(cells, key=lambda r: (r.mode, r.attack))
    first = cells[0]
    row: dict[str, object] = {c: getattr(first, c) for c in ID_COLUMNS}
    row["clean_map"] = first.clean_map
    figures = {r.column: r.figure for r in cells}
    untargeted = sorted((r.figure, r.column) for r in cells if r.mode == "untargeted")
    row["robust_map"] = untargeted[0][0] if untargeted else math.nan
    row["worst_attack"] = untargeted[0][1] if untargeted else ""
    for column in columns:
        row[column] = figures.get(column, math.nan)
    return row


def results_frame(results: list[CellResult]) -> pd.DataFrame:
    """Leaderboard DataFrame of already-loaded results (see the module docstring)."""
    columns = attack_columns(results)
    groups: dict[tuple[object, ...], list[CellResult]] = {}
    for result in results:
        key = tuple(getattr(result, c) for c in ID_COLUMNS)
        groups.setdefault(key, []).append(result)
    rows = [_row(cells, columns) for _, cells in sorted(groups.items(), key=lambda kv: str(kv[0]))]
    frame = pd.DataFrame(rows, columns=[*ID_COLUMNS, *SUMMARY_COLUMNS[1:], *columns])
    if frame.empty:
        frame.insert(len(ID_COLUMNS), "rank", pd.Series(dtype="int64"))
        return frame
    # Rank inside each group: higher robust mAP first, ties (and NaN last) by defense name.
    frame["_key"] = frame["robust_map"].fillna(-1.0)
    frame = frame.sort_values(
        [*GROUP_COLUMNS, "_key", "defense"], ascending=[True] * len(GROUP_COLUMNS) + [False, True]
    )
    frame.insert(len(ID_COLUMNS), "rank", frame.groupby(GROUP_COLUMNS, sort=False).cumcount() + 1)
    return frame.drop(columns="_key").reset_index(drop=True)


def render(results_dir: str | Path) -> pd.DataFrame:
    """Load and validate every result JSON under ``results_dir`` and build the leaderboard."""
    return results_frame(load_results(results_dir))


def to_csv_text(frame: pd.DataFrame) -> str:
    """The exact text of ``leaderboard.csv`` for ``frame`` (fixed float format, LF line ends)."""
    text: str = frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return text


def default_title(leaderboard_dir: str | Path) -> str:
    """Page title of a leaderboard folder: its name in brackets unless it is ``leaderboard``."""
    name = Path(leaderboard_dir).resolve().name
    return "robust_hashing leaderboard" + ("" if name == "leaderboard" else f" ({name})")


def write_leaderboard(leaderboard_dir: str | Path, title: str | None = None) -> pd.DataFrame:
    """Render ``<dir>/results`` into ``<dir>/leaderboard.csv`` and ``<dir>/leaderboard.html``.

    Args:
        leaderboard_dir: the folder holding ``results/``.
        title: HTML page title (default: :func:`default_title` of the folder).
    """
    from robust_hashing.leaderboard.html import render_html

    root = Path(leaderboard_dir)
    frame = render(root / "results")
    write_text_atomic(root / CSV_NAME, to_csv_text(frame))
    write_text_atomic(root / HTML_NAME, render_html(frame, title=title or default_title(root)))
    return frame


def page_title(html_text: str) -> str | None:
    """The ``<title>`` of a rendered page (unescaped), None if it has none."""
    import html

    match = re.search(r"<title>(.*?)</title>", html_text, flags=re.DOTALL)
    return html.unescape(match.group(1)) if match else None


def check_leaderboard(leaderboard_dir: str | Path) -> str | None:
    """None if both generated files equal a fresh render of the JSONs, else what differs.

    Compares ``leaderboard.csv`` first, then ``leaderboard.html`` rendered with the title
    the existing page carries (so a board rendered with ``--title``, or copied under another
    folder name, is not stale for that reason; :func:`default_title` if it has none).
    """
    from robust_hashing.leaderboard.html import render_html

    root = Path(leaderboard_dir)
    csv_path, html_path = root / CSV_NAME, root / HTML_NAME
    frame = render(root / "results")
    expected = to_csv_text(frame)
    for path in (csv_path, html_path):
        if not path.is_file():
            return f"{path} is missing; run `robust-hashing leaderboard render --dir {root}`"
    actual = csv_path.read_text(encoding="utf-8", errors="replace")
    if actual != expected:
        diff = [
            f"  line {i + 1}: file {a!r} != rendered {b!r}"
            for i, (a, b) in enumerate(
                zip(actual.splitlines(), expected.splitlines(), strict=False)
            )
            if a != b
        ]
        lines = len(actual.splitlines()), len(expected.splitlines())
        head = (
            f"{csv_path} differs from the JSONs ({lines[0]} vs {lines[1]} lines); run "
            f"`robust-hashing leaderboard render --dir {root}`"
        )
        return "\n".join([head, *diff[:5]])
    page = html_path.read_text(encoding="utf-8", errors="replace")
    title = page_title(page) or default_title(root)
    if page != render_html(frame, title=title):
        keep = "" if title == default_title(root) else f" --title {shlex.quote(title)}"
        return (
            f"{html_path} differs from the JSONs; run "
            f"`robust-hashing leaderboard render --dir {root}{keep}`"
        )
    return None
