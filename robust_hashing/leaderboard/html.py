"""Static ``leaderboard.html``: a sortable table and an inline-SVG chart, no network assets."""

from __future__ import annotations

import html
import math
import re

import pandas as pd

from robust_hashing.leaderboard.curves import curve_section
from robust_hashing.leaderboard.render import GROUP_COLUMNS

_SCRIPT = """
document.querySelectorAll('table.leaderboard th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var asc = th.dataset.order !== 'asc';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = asc ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
      var nx = parseFloat(x), ny = parseFloat(y), r;
      if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = x < y ? -1 : (x > y ? 1 : 0); }
      return asc ? r : -r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""

_STYLE = """
body { font-family: sans-serif; margin: 2em; }
table.leaderboard { border-collapse: collapse; font-size: 0.85em; }
table.leaderboard th, table.leaderboard td { border: 1px solid #ccc; padding: 3px 6px; }
table.leaderboard th { cursor: pointer; background: #eee; }
table.leaderboard td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font-size: 11px; font-family: sans-serif; }
"""


def _cell(value: object) -> str:
    if value is None or value is pd.NA:
        return '<td class="num" data-value="">–</td>'
    if isinstance(value, float):
        if math.isnan(value):
            return '<td class="num" data-value="">–</td>'
        return f'<td class="num" data-value="{value:.6f}">{value:.4f}</td>'
    if isinstance(value, int):
        return f'<td class="num" data-value="{value}">{value}</td>'
    text = html.escape(str(value))
    return f'<td data-value="{text}">{text}</td>'


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
    full_text = str(text or "")
    if not full_text:
        return '<td data-value=""></td>'
    notes = splitter.split(full_text)
    marks = [numbers.setdefault(n, len(numbers) + 1) for n in notes]
    full = html.escape(full_text, quote=True)
    return f'<td data-value="{full}" title="{full}">[{", ".join(map(str, marks))}]</td>'


def table_html(frame: pd.DataFrame) -> str:
    """The leaderboard as a sortable ``<table class="leaderboard">``.

    The ``notes`` column holds footnote markers, listed with their text below the table,
    so a note shared by every row does not stretch each of them.
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    numbers: dict[str, int] = {}
    splitter = _note_splitter(list(frame.columns))
    rows = []
    for record in frame.itertuples(index=False):
        values = [v.item() if hasattr(v, "item") else v for v in record]
        cells = [
            _notes_cell(v, splitter, numbers) if c == "notes" else _cell(v)
            for c, v in zip(frame.columns, values, strict=True)
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "\n".join(rows)
    table = f'<table class="leaderboard">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    if not numbers:
        return table
    items = "".join(f"<li>{html.escape(n)}</li>" for n in numbers)
    return f'{table}\n<p>Notes:</p>\n<ol class="notes">{items}</ol>'


def _group_label(names: list[str], key: tuple[object, ...]) -> list[str]:
    """``embedded / 32 / … / top_k 1000 / 40 queries`` (null top_k = the full database)."""
    out = []
    for name, value in zip(names, key, strict=True):
        missing = value is None or value is pd.NA
        if name == "top_k":
            out.append("full ranking" if missing else f"top_k {value}")
        elif name == "n_queries":
            out.append("queries ?" if missing else f"{value} queries")
        else:
            out.append(str(value))
    return out


def _known_se(se: object) -> float | None:
    """A recorded standard error as a float; None where the cell does not record one."""
    if not isinstance(se, (int, float)) or math.isnan(se):  # None, pd.NA, NaN
        return None
    return float(se)


def _se_whisker(value: float, se: float, x0: int, scale: float, y: int, bar: int) -> str:
    """A ±1 standard error line across the end of a bar."""
    lo, hi = (round(x0 + min(max(v, 0.0), 1.0) * scale, 1) for v in (value - se, value + se))
    mid = y + bar / 2
    return (
        f'<path class="se" d="M{lo},{mid}H{hi}M{lo},{y + 4}V{y + bar - 4}M{hi},{y + 4}'
        f'V{y + bar - 4}" stroke="#222" stroke-width="1.2" fill="none">'
        f"<title>±1 standard error over the queries: {se:.4f}</title></path>"
    )


def _rank_figure(row: object) -> tuple[float, object]:
    """(worst_case_map, its SE), or (min_attack_map, its SE) where the worst case is unknown."""
    value = float(getattr(row, "worst_case_map", math.nan))
    if not math.isnan(value):
        return value, getattr(row, "worst_case_map_se", None)
    return float(getattr(row, "min_attack_map", math.nan)), getattr(row, "min_attack_map_se", None)


def chart_svg(frame: pd.DataFrame, width: int = 640, bar: int = 18) -> str:
    """Horizontal bar chart of the rank key per defense, one block per group, as inline SVG.

    The bar is the per-query worst case (``worst_case_map``; ``min_attack_map`` where it is
    unknown). Where its standard error over the queries is known, a whisker spans ±1
    standard error, so gaps that the query sample alone could make are visible.
    """
    label_w, gap, y = 160, 24, 10
    parts: list[str] = []
    scale = width - label_w - 60
    for key, group in frame.groupby(GROUP_COLUMNS, sort=True, dropna=False):
        title = html.escape(" / ".join(_group_label(GROUP_COLUMNS, key)))
        parts.append(f'<text x="0" y="{y + 12}" font-weight="bold">{title}</text>')
        y += gap
        for row in group.sort_values(["rank", "defense"]).itertuples(index=False):
            value, se_value = _rank_figure(row)
            length = 0 if math.isnan(value) else round(value * scale, 1)
            label = "n/a" if math.isnan(value) else f"{value:.4f}"
            name = html.escape(str(row.defense))
            parts.append(f'<text x="0" y="{y + 13}">{name}</text>')
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar}" fill="#4c78a8">'
                f"<title>{name}: {label}</title></rect>"
            )
            se = None if math.isnan(value) else _known_se(se_value)
            if se is not None:
                parts.append(_se_whisker(value, se, label_w, scale, y, bar))
                length = round(min(value + se, 1.0) * scale, 1)  # the label after the whisker
            parts.append(f'<text x="{label_w + length + 4}" y="{y + 13}">{label}</text>')
            y += bar + 4
        y += gap // 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
        f'role="img" aria-label="robust mAP per defense">{"".join(parts)}</svg>'
    )


def render_html(frame: pd.DataFrame, title: str = "Leaderboard") -> str:
    """A self-contained HTML page: title, chart of robust mAP, sortable table."""
    safe = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{safe}</title><style>{_STYLE}</style></head>
<body>
<h1>{safe}</h1>
<p>Rank key: <code>worst_case_map</code>, the mean over the queries of the minimum AP@k
over every bounded untargeted attack (per-query worst case); higher is better.
<code>min_attack_map</code> is the smallest per-attack mAP, <code>worst_case_tmap</code> the
mean over the queries of the maximum target AP over the bounded targeted attacks (lower is
better for a defense). Unbounded attacks keep their columns but enter no worst case.
Targeted columns hold t-mAP. <code>transfer_&lt;attack&gt;</code>: mAP on the adversarial
queries crafted on the undefended model. Rows are ranked within one dataset, code length,
victim, profile, threat model, mAP depth (top_k) and query count; a row with attacks
<em>missing</em> that its group has is ranked after the complete rows. Click a header to
sort.</p>
<p>Flags: <code>masking:&lt;attack&gt;</code>, the transfer attack beats every white-box
attack by more than one standard error (a sign of gradient masking);
<code>nonmonotone</code>, robust mAP does not decrease along the ε sweep;
<code>low_clean</code>, clean mAP below the profile's floor (untrained or collapsed
model); <code>v1</code>, protocol-v1 records (no threat model, no per-query data: ranked
by the per-attack minimum until re-produced).</p>
<h2>Worst-case robust mAP per defense</h2>
<p>Whiskers: ±1 standard error over the queries, where known.</p>
{chart_svg(frame)}
{curve_section(frame)}
<h2>Table</h2>
{table_html(frame)}
<script>{_SCRIPT}</script>
</body>
</html>
"""
