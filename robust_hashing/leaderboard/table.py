"""The table of one leaderboard group: sortable, grouped headers, a sticky defense column.

The group's constant key columns (dataset, bits, victim, profile, threat model, top_k,
queries) are in its caption, not repeated on every row; columns empty on every row of the
group are left out; a ``<name>_se`` column is shown as ``± se`` beside ``<name>``. The
header has two rows: the column groups of :func:`~robust_hashing.leaderboard.labels.column_groups`
(summary, untargeted, targeted, transfer, curve, any further family), then the readable
column names. The table sits in its own horizontally scrolling box, so the page does not
scroll sideways; the defense column stays in view (``position: sticky``).
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd

from robust_hashing.leaderboard.labels import column_groups, header, is_missing


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _cell(value: object, se: object = None) -> str:
    if is_missing(value):
        return '<td class="num" data-value="">–</td>'
    number = _number(value)
    if number is None:
        text = html.escape(str(value))
        return f'<td data-value="{text}">{text}</td>'
    if isinstance(value, int):
        return f'<td class="num" data-value="{value}">{value}</td>'
    error = _number(se)
    spread = "" if error is None else f' <span class="se">± {error:.4f}</span>'
    return f'<td class="num" data-value="{number:.6f}">{number:.4f}{spread}</td>'


def _note_splitter(columns: list[str]) -> re.Pattern[str]:
    """Where a ``notes`` cell's next ``<attack column>: <footnote>`` item starts.

    Items are joined with ``; ``, which a footnote may contain too, so a split needs the
    next item to start with one of ``columns``.
    """
    names = "|".join(re.escape(c) for c in sorted(columns, key=len, reverse=True))
    return re.compile(f"; (?=(?:{names}): )")


def _notes_cell(text: object, splitter: re.Pattern[str], numbers: dict[str, int]) -> str:
    """A ``notes`` cell as footnote markers (``[1, 2]``); the full text sorts and shows on hover.

    ``numbers`` maps each distinct item to its number, assigned in order of first appearance.
    """
    full_text = "" if is_missing(text) else str(text)
    if not full_text:
        return '<td data-value=""></td>'
    notes = splitter.split(full_text)
    marks = [numbers.setdefault(n, len(numbers) + 1) for n in notes]
    full = html.escape(full_text, quote=True)
    return f'<td data-value="{full}" title="{full}">[{", ".join(map(str, marks))}]</td>'


def _head(groups: list[tuple[str, list[str]]]) -> str:
    top = ['<th class="defense" rowspan="2" data-col="0">defense</th>']
    names, col = [], 1
    for name, columns in groups:
        kind = "targeted" if "targeted attacks" in name else "group"
        top.append(f'<th class="{kind}" colspan="{len(columns)}">{html.escape(name)}</th>')
        for column in columns:
            names.append(
                f'<th data-col="{col}" data-column="{html.escape(column)}">'
                f"{html.escape(header(column, name))}</th>"
            )
            col += 1
    return f"<thead><tr>{''.join(top)}</tr><tr>{''.join(names)}</tr></thead>"


def table_html(frame: pd.DataFrame, caption: str = "") -> str:
    """One group's rows as a sortable ``<table class="leaderboard">`` in a scrolling box.

    The ``notes`` column holds footnote markers, listed with their text below the table,
    so a note shared by every row does not stretch each of them.
    """
    kept = [
        c for c in frame.columns if c in ("defense", "rank") or not frame[c].map(is_missing).all()
    ]
    frame = frame[kept]
    groups = column_groups([str(c) for c in frame.columns])
    numbers: dict[str, int] = {}
    splitter = _note_splitter([str(c) for c in frame.columns])
    rows = []
    for record in frame.to_dict("records"):
        name = html.escape(str(record["defense"]))
        cells = [f'<th class="defense" scope="row" data-value="{name}">{name}</th>']
        for _, columns in groups:
            for c in columns:
                if c == "notes":
                    cells.append(_notes_cell(record[c], splitter, numbers))
                else:
                    cells.append(_cell(record[c], record.get(f"{c}_se")))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    body = "\n".join(rows)
    table = (
        f'<div class="table-scroll">\n<table class="leaderboard">{cap}\n{_head(groups)}\n'
        f"<tbody>\n{body}\n</tbody>\n</table>\n</div>"
    )
    if not numbers:
        return table
    items = "".join(f"<li>{html.escape(n)}</li>" for n in numbers)
    return f'{table}\n<p>Notes:</p>\n<ol class="notes">{items}</ol>'
