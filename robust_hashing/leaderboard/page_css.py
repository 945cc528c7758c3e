"""Inline CSS and the table-sorting script of ``leaderboard.html`` (no network assets)."""

from __future__ import annotations

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1400px; color: #222; }
h2.group { border-top: 2px solid #4c78a8; padding-top: 0.6em; margin-top: 1.6em; }
p.how { color: #555; font-size: 0.9em; margin: 0.2em 0 0.6em; max-width: 60em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em 3em; align-items: flex-start; }
.figures figure { margin: 0; }
.figures figure p.how { width: 0; min-width: 100%; }  /* wrap to the figure's width */
figcaption { font-weight: bold; margin-bottom: 0.2em; }
.table-scroll { overflow-x: auto; width: fit-content; max-width: 100%;
  border: 1px solid #ccc; }
table.leaderboard { border-collapse: separate; border-spacing: 0; font-size: 0.85em; }
table.leaderboard caption { caption-side: top; text-align: left; padding: 4px 6px;
  font-weight: bold; background: #f6f8fb; }
table.leaderboard th, table.leaderboard td { border-right: 1px solid #ddd;
  border-bottom: 1px solid #ddd; padding: 3px 6px; }
table.leaderboard thead th { background: #eee; vertical-align: bottom;
  min-width: 4.5em; max-width: 9em; white-space: normal; }
table.leaderboard thead tr:first-child th { text-align: center; background: #e3e8ef; }
table.leaderboard thead th.targeted { background: #f4e3dc; }
table.leaderboard thead th[data-col] { cursor: pointer; }
table.leaderboard .defense { position: sticky; left: 0; z-index: 1; background: #fff;
  text-align: left; box-shadow: 1px 0 0 #999; }
table.leaderboard thead .defense { z-index: 2; background: #eee; }
table.leaderboard td { white-space: nowrap; }
table.leaderboard td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.leaderboard .se { color: #777; font-size: 0.85em; }
svg text { font-size: 11px; font-family: sans-serif; }
"""

SCRIPT = """
document.querySelectorAll('table.leaderboard th[data-col]').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = parseInt(th.dataset.col, 10), asc = th.dataset.order !== 'asc';
    table.querySelectorAll('th[data-col]').forEach(function (h) { delete h.dataset.order; });
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
