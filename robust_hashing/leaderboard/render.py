"""Deterministic leaderboard: result JSONs → one DataFrame → ``leaderboard.csv`` / ``.html``.

One row per (dataset, bits, method, backbone, profile, threat, top_k, n_queries, defense)
with the clean mAP, the per-query worst cases and the per-attack minimum
(:mod:`robust_hashing.leaderboard.figures`), the sanity ``flags``, the rank by
``worst_case_map`` inside its group (the same row key without the defense: only figures
measured the same way are ranked together; ``min_attack_map`` where the worst case is
unknown), one column per attack (the mAP under attack for untargeted attacks, the t-mAP,
``<attack>-targeted``, lower is better for a defense, for targeted ones), the
``transfer_<attack>`` columns and the robustness curve (``curve_attack``, ``curve_eps<n>``).

A row that lacks an attack other rows of its group have (a failed or not yet run cell)
names it in ``missing`` and is ranked after every complete row: its worst case is over
fewer attacks, so it is not comparable. ``source`` says whether the row's figures were
measured by the runner, copied from a paper (``reported``) or both (``mixed``); ``notes``
carries the cells' footnotes as ``<attack column>: <footnote>`` joined by ``; `` (for
example that ProS-GAN is unbounded as published). Columns come in a fixed order and rows
are sorted, so the CSV is a pure function of the JSON files.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import pandas as pd

from robust_hashing.io import write_text_atomic
from robust_hashing.leaderboard import figures as fig
from robust_hashing.leaderboard.columns import GROUP_COLUMNS, ID_COLUMNS, SUMMARY_COLUMNS
from robust_hashing.leaderboard.schema import CellResult, SchemaError, load_results

CLEAN_MAP_TOLERANCE = 0.005  # cells of one row attack one model on the same queries
FLOAT_FORMAT = "%.4f"
CSV_NAME = "leaderboard.csv"
HTML_NAME = "leaderboard.html"


def attack_columns(results: list[CellResult]) -> list[str]:
    """Untargeted attack columns (sorted) followed by targeted ones (sorted)."""
    untargeted = sorted({r.column for r in results if r.mode == "untargeted"})
    targeted = sorted({r.column for r in results if r.mode == "targeted"})
    return untargeted + targeted


def key_value(cell: CellResult, column: str) -> object:
    """The value of row-key ``column`` for ``cell`` (``threat`` as text: ``linf 8/255``)."""
    return cell.threat_model if column == "threat" else getattr(cell, column)


def _row_name(cell: CellResult) -> str:
    return (
        f"{cell.dataset}/{cell.bits}bit/{cell.defense} ({cell.method}, {cell.backbone}, "
        f"{cell.profile}, {cell.threat_model}, top_k {cell.top_k}, {cell.n_queries} queries)"
    )


def extra_columns(results: list[CellResult]) -> list[str]:
    """``transfer_<attack>`` columns (sorted), then the curve's (``curve_attack``, by ε)."""
    transfers = sorted({f"transfer_{r.attack}" for r in results if r.transfer is not None})
    eps = sorted({e for r in results if r.curve is not None for e in r.curve["eps"]})
    curve = ["curve_attack", *(fig.eps_column(e) for e in eps)] if eps else []
    return transfers + curve


def _row(cells: list[CellResult], columns: list[str], extra: list[str]) -> dict[str, object]:
    cells = sorted(cells, key=lambda r: (r.mode, r.attack))
    first = cells[0]
    row: dict[str, object] = {c: key_value(first, c) for c in ID_COLUMNS}
    for other in cells[1:]:
        if abs(other.clean_map - first.clean_map) > CLEAN_MAP_TOLERANCE:
            raise SchemaError(
                f"leaderboard row {_row_name(first)}: clean mAP {first.clean_map:.4f} "
                f"({first.column}) differs from {other.clean_map:.4f} ({other.column}); the "
                "cells of one row must attack the same model on the same queries"
            )
    row["clean_map"] = first.clean_map
    figures = {r.column: r.figure for r in cells}
    name = _row_name(first)
    row["worst_case_map"], row["worst_case_map_se"] = fig.worst_case(cells, "untargeted", name)
    row["worst_case_tmap"], row["worst_case_tmap_se"] = fig.worst_case(cells, "targeted", name)
    best = fig.min_attack(cells)
    row["min_attack_map"], row["min_attack_map_se"], row["worst_attack"] = best
    transfers = fig.transfer_figures(cells)
    curve = fig.curve_of(cells)
    row["flags"] = fig.flags(first.clean_map, first.profile, best[:2], transfers, curve)
    if any(c.legacy for c in cells):  # protocol-v1 records: no threat model, no worst case
        row["flags"] = " ".join(["v1", str(row["flags"])]).strip()
    extras = {k: v for k, (v, _) in transfers.items()} | fig.curve_figures(curve)
    sources = {r.provenance.source for r in cells}
    row["source"] = sources.pop() if len(sources) == 1 else "mixed"
    notes = sorted((r.column, r.footnote) for r in cells if r.footnote)
    row["notes"] = "; ".join(f"{column}: {note}" for column, note in notes)
    for column in columns:
        row[column] = figures.get(column, math.nan)
    for column in extra:
        row[column] = extras.get(column, "" if column == "curve_attack" else math.nan)
    return row


def _missing(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, the attack columns its group has and it lacks (space-separated)."""
    present = frame[columns].notna()
    in_group = present.groupby([frame[c] for c in GROUP_COLUMNS], dropna=False).transform("any")
    lacking = in_group & ~present
    return lacking.apply(lambda r: " ".join(c for c in columns if r[c]), axis=1).astype(str)


def results_frame(results: list[CellResult]) -> pd.DataFrame:
    """Leaderboard DataFrame of already-loaded results (see the module docstring).

    Raises:
        SchemaError: if the cells of one row disagree on the clean mAP.
    """
    columns = attack_columns(results)
    extra = extra_columns(results)
    groups: dict[tuple[object, ...], list[CellResult]] = {}
    for result in results:
        key = tuple(key_value(result, c) for c in ID_COLUMNS)
        groups.setdefault(key, []).append(result)
    rows = [
        _row(cells, columns, extra)
        for _, cells in sorted(groups.items(), key=lambda kv: str(kv[0]))
    ]
    frame = pd.DataFrame(rows, columns=[*ID_COLUMNS, *SUMMARY_COLUMNS[1:], *columns, *extra])
    for name in ("top_k", "n_queries"):
        frame[name] = frame[name].astype("Int64")  # null = full database / not stated
    if frame.empty:
        frame.insert(len(ID_COLUMNS), "rank", pd.Series(dtype="int64"))
        return frame
    frame["missing"] = _missing(frame, columns) if columns else ""
    # Rank inside each group: complete rows first, then higher per-query worst case (the
    # per-attack minimum where it is unknown), ties (and NaN last) by defense name.
    frame["_incomplete"] = frame["missing"] != ""
    frame["_key"] = frame["worst_case_map"].fillna(frame["min_attack_map"]).fillna(-1.0)
    frame = frame.sort_values(
        [*GROUP_COLUMNS, "_incomplete", "_key", "defense"],
        ascending=[True] * len(GROUP_COLUMNS) + [True, False, True],
        na_position="first",
    )
    ranks = frame.groupby(GROUP_COLUMNS, sort=False, dropna=False).cumcount() + 1
    frame.insert(len(ID_COLUMNS), "rank", ranks)
    return frame.drop(columns=["_incomplete", "_key"]).reset_index(drop=True)


def render(results_dir: str | Path) -> pd.DataFrame:
    """Load and validate every result JSON under ``results_dir`` and build the leaderboard."""
    return results_frame(load_results(results_dir))


def render_folder(leaderboard_dir: str | Path) -> pd.DataFrame:
    """The leaderboard of a folder: ``results/`` plus the ranking records of ``ranking/``.

    The ranking protocol's column group (:mod:`robust_hashing.leaderboard.ranking_columns`)
    is added only where the folder has ranking records.
    """
    from robust_hashing.leaderboard.ranking import RANKING_DIR, load_ranking_results
    from robust_hashing.leaderboard.ranking_columns import add_ranking

    root = Path(leaderboard_dir)
    return add_ranking(render(root / "results"), load_ranking_results(root / RANKING_DIR))


def to_csv_text(frame: pd.DataFrame) -> str:
    """The exact text of ``leaderboard.csv`` for ``frame`` (fixed float format, LF line ends)."""
    text: str = frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return text


def to_console_text(frame: pd.DataFrame) -> str:
    """The leaderboard for a terminal: the table without ``notes``, each distinct note below."""
    table = frame.drop(columns=["notes"], errors="ignore")
    text: str = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    notes = sorted({n for n in frame.get("notes", pd.Series(dtype=str)) if n})
    return "\n".join([text, *(f"note: {n}" for n in notes)])


def default_title(leaderboard_dir: str | Path) -> str:
    """Page title of a leaderboard folder: its name in brackets unless it is ``leaderboard``."""
    name = Path(leaderboard_dir).resolve().name
    return "robust_hashing leaderboard" + ("" if name == "leaderboard" else f" ({name})")


def write_leaderboard(leaderboard_dir: str | Path, title: str | None = None) -> pd.DataFrame:
    """Render ``<dir>/results`` (and ``<dir>/ranking``) into ``leaderboard.csv`` and ``.html``.

    Args:
        leaderboard_dir: the folder holding ``results/``.
        title: HTML page title (default: :func:`default_title` of the folder).
    """
    from robust_hashing.leaderboard.html import render_html

    root = Path(leaderboard_dir)
    frame = render_folder(root)
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
    frame = render_folder(root)
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
