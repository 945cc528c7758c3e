"""The leaderboard table of a markdown file, generated from a board's CSV between markers.

A markdown file (the README) holds one block per board::

    <!-- leaderboard: leaderboard/quick -->
    ...generated table...
    <!-- /leaderboard -->

The path after ``leaderboard:`` is the board folder (holding ``leaderboard.csv``), relative
to the markdown file. :func:`sync_markdown` rewrites every block from its CSV, or, with
``check=True``, writes nothing and names the first stale block, so a hand-edited or
outdated table fails ``robust-hashing leaderboard render --check``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from robust_hashing.io import write_text_atomic

BLOCK = re.compile(
    r"(?P<open><!-- leaderboard: (?P<board>[^\s>]+) -->\n)(?P<body>.*?)(?P<close><!-- /leaderboard -->)",
    re.DOTALL,
)
# (CSV column, table header), in table order; a column the CSV lacks is left out
SUMMARY = [
    ("rank", "rank"),
    ("defense", "defense"),
    ("clean_map", "clean mAP"),
    ("worst_case_map", "worst case (per query)"),
    ("min_attack_map", "worst attack"),
    ("robust_map", "worst attack"),
    ("worst_case_tmap", "worst-case t-mAP ↓"),
    ("transfer_min", "transfer (worst)"),
    ("ers", "ERS"),
    ("flags", "flags"),
]
ID_COLUMNS = ["dataset", "bits", "method", "backbone", "profile", "threat", "top_k", "n_queries"]
TRANSFER_PREFIX = "transfer_"


def _fmt(value: object, se: object = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        text = f"{value:.3f}"
        if isinstance(se, float) and not math.isnan(se):
            text += f" ± {se:.3f}"
        return text
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """One markdown table per group of the board: the summary columns, one row per defense.

    ``transfer (worst)`` is the lowest of a row's ``transfer_*`` figures (the strongest
    attack transferred from the undefended model), when the board has a transfer track.
    """
    transfer = [c for c in frame.columns if c.startswith(TRANSFER_PREFIX)]
    if transfer:
        frame = frame.assign(transfer_min=frame[transfer].min(axis=1, skipna=True))
    columns: list[tuple[str, str]] = []
    for name, header in SUMMARY:
        if name in frame.columns and header not in [h for _, h in columns]:
            columns.append((name, header))
    groups = [c for c in ID_COLUMNS if c in frame.columns]
    parts: list[str] = []
    for key, rows in frame.groupby(groups, sort=True, dropna=False) if groups else [((), frame)]:
        values = key if isinstance(key, tuple) else (key,)
        caption = ", ".join(f"{g} {v}" for g, v in zip(groups, values, strict=True))
        if caption:
            parts.append(f"*{caption}*\n")
        parts.append("| " + " | ".join(h for _, h in columns) + " |")
        parts.append("|" + "---|" * len(columns))
        for _, row in rows.iterrows():
            cells = [_fmt(row[n], row.get(f"{n}_se")) for n, _ in columns]
            parts.append("| " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts)


def _block_text(markdown: Path, board: str) -> str:
    csv = (markdown.parent / board / "leaderboard.csv").resolve()
    if not csv.is_file():
        raise FileNotFoundError(
            f"{markdown}: leaderboard block names {board}, which has no {csv.name}"
        )
    frame = pd.read_csv(csv, keep_default_na=True)
    return markdown_table(frame)


def sync_markdown(
    markdown: str | Path, *, check: bool = False, boards: list[Path] | None = None
) -> str | None:
    """Regenerate every leaderboard block of ``markdown``.

    Args:
        markdown: the markdown file.
        check: write nothing; report the first stale block instead.
        boards: only the blocks naming one of these board folders (default: every block).

    Returns:
        None when every block was current; otherwise a one-line message naming the file and
        the first stale board (with ``check``: which is stale; without: which was rewritten).

    Raises:
        FileNotFoundError: a block names a board folder without ``leaderboard.csv``.
    """
    path = Path(markdown)
    text = path.read_text(encoding="utf-8")
    stale: list[str] = []
    wanted = None if boards is None else {b.resolve() for b in boards}

    def _replace(match: re.Match[str]) -> str:
        if wanted is not None and (path.parent / match["board"]).resolve() not in wanted:
            return match[0]
        body = _block_text(path, match["board"])
        if body != match["body"]:
            stale.append(match["board"])
        return match["open"] + body + match["close"]

    new = BLOCK.sub(_replace, text)
    if check:
        return (
            f"{path}: the table of {stale[0]} is stale (run leaderboard render)" if stale else None
        )
    if new != text:
        write_text_atomic(path, new)
    return f"{path}: rewrote the table of {', '.join(stale)}" if stale else None
