"""The committed quick leaderboard page as headless Chromium lays it out at 1280 px width.

A test-only script, added to a temporary copy of the page, measures the layout after load
(page scroll width, the table scrolled to its right end, the sticky defense cell) and
writes the measurements as JSON into the DOM, which ``--dump-dom`` returns.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .test_html import CHROMIUM

PAGE = Path(__file__).resolve().parents[2] / "leaderboard" / "quick" / "leaderboard.html"

_MEASURE = """
(function () {
  var doc = document.documentElement, out = {};
  out.pageScrollWidth = doc.scrollWidth; out.viewportWidth = doc.clientWidth;
  out.heatmaps = Array.from(document.querySelectorAll('svg.heatmap')).map(function (s) {
    return [s.getAttribute('class'), s.querySelectorAll('rect.cell').length]; });
  out.scatterPoints = document.querySelectorAll('svg.tradeoff circle.point').length;
  out.curves = document.querySelectorAll('svg.robustness-curve polyline.curve').length;
  out.barTicks = Array.from(document.querySelectorAll('svg.bars text.tick')).map(
    function (t) { return t.textContent; });
  out.barAxis = document.querySelectorAll('svg.bars path.axis').length;
  out.barAxisLabel = (document.querySelector('svg.bars text.axis-label') || {}).textContent;
  var box = document.querySelector('.table-scroll'), table = box.querySelector('table');
  out.boxWidth = box.clientWidth; out.tableWidth = table.scrollWidth;
  out.caption = table.caption ? table.caption.textContent : null;
  out.headers = Array.from(table.querySelectorAll('thead th')).map(function (th) {
    return [th.dataset.column || '', th.textContent]; });
  window.scrollTo(0, box.getBoundingClientRect().top + window.scrollY - 50);  // into view
  box.scrollLeft = box.scrollWidth;
  out.scrollLeft = box.scrollLeft;
  var cell = table.tBodies[0].rows[0].cells[0];
  var left = box.getBoundingClientRect().left + box.clientLeft;  // inside the border
  var rect = cell.getBoundingClientRect(), last = table.tBodies[0].rows[0].lastElementChild;
  out.defense = cell.textContent;
  out.defenseLeft = rect.left - left; out.defenseRight = rect.right - left;
  var at = document.elementFromPoint(rect.left + 5, rect.top + rect.height / 2);
  out.defenseOnTop = at === cell || cell.contains(at);
  out.lastColumnRight = last.getBoundingClientRect().right - left;
  var pre = document.createElement('pre'); pre.id = 'measurements';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
"""


def _measure(tmp_path: Path, width: int = 1280) -> dict[str, Any]:
    page = tmp_path / "leaderboard.html"
    page.write_text(
        PAGE.read_text(encoding="utf-8").replace("</body>", f"<script>{_MEASURE}</script></body>"),
        encoding="utf-8",
    )
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
             f"--window-size={width},1000", "--virtual-time-budget=2000"]  # fmt: skip
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=True,
    ).stdout  # fmt: skip
    match = re.search(r'<pre id="measurements">(.*?)</pre>', dom, flags=re.DOTALL)
    assert match is not None, dom[-2000:]
    return json.loads(html.unescape(match.group(1)))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _measure(tmp_path_factory.mktemp("chromium"))


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed"),
]


def test_heatmaps_scatter_and_curve_are_drawn(layout: dict[str, Any]) -> None:
    assert [k for k, _ in layout["heatmaps"]] == ["heatmap untargeted", "heatmap targeted"]
    assert all(n >= 5 * 4 for _, n in layout["heatmaps"])  # 5 defenses × ≥ 4 attacks
    assert layout["scatterPoints"] == 5  # one point per defense
    assert layout["curves"] == 5  # one robustness-curve line per defense


def test_no_horizontal_page_scroll_and_the_table_scrolls_in_its_box(layout: dict) -> None:
    assert layout["viewportWidth"] == 1280
    assert layout["pageScrollWidth"] <= layout["viewportWidth"]
    assert layout["tableWidth"] > layout["boxWidth"]  # so the box has something to scroll
    assert layout["scrollLeft"] > 0
    assert layout["lastColumnRight"] <= layout["boxWidth"] + 1  # scrolled to the right end


def test_defense_column_stays_visible_after_scrolling_right(layout: dict[str, Any]) -> None:
    assert layout["defense"] == "cgat"
    assert layout["defenseLeft"] == pytest.approx(0, abs=1.5)  # stuck to the left edge
    assert layout["defenseRight"] > 30 and layout["defenseOnTop"]  # not under other cells


def test_constant_id_columns_are_in_the_caption(layout: dict[str, Any]) -> None:
    caption = layout["caption"]
    for part in ("embedded", "32 bits", "dpsh / small_cnn", "quick", "linf 8/255", "top_k 1000",
                 "80 queries"):  # fmt: skip
        assert part in caption
    names = {c for c, _ in layout["headers"]}
    assert not {"dataset", "bits", "method", "backbone", "profile", "threat"} & names


def test_headers_are_readable_and_targeted_ones_say_lower_is_better(layout: dict) -> None:
    headers = dict(layout["headers"])
    assert headers["mainstay"] == "Mainstay mAP" and headers["clean_map"] == "clean mAP"
    targeted = [text for column, text in layout["headers"] if column.endswith("-targeted")]
    assert len(targeted) >= 5 and all("(lower is better)" in t for t in targeted)
    assert "DHTA t-mAP (lower is better)" in targeted
    assert not [t for _, t in layout["headers"] if "_" in t]  # no raw column names


def test_bar_chart_has_an_axis(layout: dict[str, Any]) -> None:
    assert layout["barAxis"] == 1
    assert layout["barTicks"] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert layout["barAxisLabel"].startswith("worst-case mAP")
