from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from robust_hashing.leaderboard import results_frame
from robust_hashing.leaderboard.html import render_html

from .test_render import records


def test_html_is_self_contained_with_table_and_chart() -> None:
    page = render_html(results_frame(records()), title="Test board")
    assert page.count("<tr>") == 5  # two header rows + 3 defenses
    assert "<svg" in page and page.count('<rect class="bar"') == 3
    assert "robustness-curve" not in page  # no cell records a curve
    assert "<script>" in page and "addEventListener" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no network assets
    assert render_html(results_frame(records()), title="Test board") == page


def test_chart_whiskers_span_one_standard_error() -> None:
    from robust_hashing.leaderboard import parse_result
    from robust_hashing.leaderboard.html import chart_svg

    from .conftest import make_record

    cells = [  # cgat records its SE (minimum: mainstay 0.40 ± 0.05), none does not
        make_record("cgat", "hag", figure=0.50, figure_se=0.01),
        make_record("cgat", "mainstay", figure=0.40, figure_se=0.05),
        make_record("none", "hag", figure=0.05),
    ]
    svg = chart_svg(results_frame([parse_result(c) for c in cells]), width=640)
    scale = 640 - 160 - 60  # bar length per unit of mAP; bars start at x = 160
    [whisker] = re.findall(r'<path class="se" d="M([\d.]+),[\d.]+H([\d.]+)', svg)
    assert [float(v) for v in whisker] == pytest.approx([160 + 0.35 * scale, 160 + 0.45 * scale])
    assert "±1 standard error over the queries: 0.0500" in svg
    assert svg.count('class="se"') == 1  # no whisker where the SE is unknown


CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def _dump_dom(page: Path, tmp_path: Path) -> str:
    """The DOM of ``page`` after its scripts ran, from headless Chromium (no network)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip


def _defense_order(dom: str) -> list[str]:
    rows = re.findall(r"<tr>(.*?)</tr>", dom, flags=re.DOTALL)[2:]  # after the header rows
    return [re.search(r"\b(none|cgat|saat)\b", row).group(1) for row in rows]  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed")
@pytest.mark.parametrize(
    ("clicks", "order"),
    [
        ([], ["saat", "cgat", "none"]),  # as rendered: by rank
        (["defense"], ["cgat", "none", "saat"]),  # text, ascending
        (["defense", "defense"], ["saat", "none", "cgat"]),  # second click: descending
        (["HAG mAP"], ["none", "cgat", "saat"]),  # numbers, ascending
    ],
)
def test_html_table_sorts_in_headless_chromium(tmp_path: Path, clicks, order) -> None:
    html = render_html(results_frame(records()))
    click = "".join(
        f"Array.from(document.querySelectorAll('th')).find(h => h.textContent === '{c}').click();"
        for c in clicks
    )
    page = tmp_path / "leaderboard.html"
    page.write_text(html.replace("</body>", f"<script>{click}</script></body>"))
    dom = _dump_dom(page, tmp_path)
    assert 'class="leaderboard"' in dom and "<svg" in dom
    assert _defense_order(dom) == order


def test_notes_are_footnote_markers_listed_below_the_table() -> None:
    from robust_hashing.leaderboard.schema import parse_result

    from .test_render import make_record

    unbounded = "unbounded attack (as published); see rmse"  # a footnote with "; " in it
    cells = [parse_result(make_record("cgat", "p2p", "targeted", footnote=unbounded)),
             parse_result(make_record("cgat", "dhta", "targeted", footnote="Table 3, eps 8")),
             parse_result(make_record("saat", "p2p", "targeted", footnote=unbounded)),
             parse_result(make_record("none", "hag", "untargeted"))]  # fmt: skip
    page = render_html(results_frame(cells))
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL)[2:]
    by_defense = {re.search(r">(cgat|saat|none)<", r).group(1): r for r in rows}  # type: ignore[union-attr]
    # one number per distinct note, shared by the rows that carry it; full text on hover
    assert (
        f'title="dhta-targeted: Table 3, eps 8; p2p-targeted: {unbounded}">[1, 2]</td>'
        in by_defense["cgat"]
    )
    assert f'title="p2p-targeted: {unbounded}">[2]</td>' in by_defense["saat"]
    assert '<td data-value=""></td>' in by_defense["none"]
    notes = re.search(r'<ol class="notes">(.*?)</ol>', page).group(1)  # type: ignore[union-attr]
    assert notes == f"<li>dhta-targeted: Table 3, eps 8</li><li>p2p-targeted: {unbounded}</li>"
    assert "notes" not in render_html(results_frame(cells[3:])).split("</table>")[1]


def _curve_records() -> list:
    from robust_hashing.leaderboard import parse_result

    from .conftest import make_record

    eps = [2 / 255, 4 / 255, 8 / 255, 16 / 255]
    curves = {"none": [0.5, 0.3, 0.1, 0.0], "cgat": [0.7, 0.6, 0.5, 0.3]}
    return [
        parse_result(make_record(d, "hag", figure=v[2], curve={"attack": "hag", "eps": eps,
                                                                "adv_map": v}))
        for d, v in curves.items()
    ]  # fmt: skip


def test_robustness_curve_is_inline_svg_one_line_per_defense() -> None:
    from robust_hashing.leaderboard.curves import curve_svg

    frame = results_frame(_curve_records())
    page = render_html(frame)
    assert page.count('class="robustness-curve"') == 1 and "Robustness curve" in page
    lines = dict(re.findall(r'<polyline class="curve" data-defense="(\w+)" points="([^"]+)"', page))
    assert set(lines) == {"none", "cgat"}
    # x: ε / 16·255 of the 386-px plot from x = 44; y: (1 − mAP) of the 208-px plot from y = 22
    svg = curve_svg(frame, [(f"curve_eps{n}", float(n)) for n in (2, 4, 8, 16)], "t")
    cgat = re.search(r'data-defense="cgat" points="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    points = [tuple(map(float, p.split(","))) for p in cgat.split()]
    expected = [(44 + n / 16 * 386, 22 + (1 - v) * 208) for n, v in
                zip((2, 4, 8, 16), (0.7, 0.6, 0.5, 0.3), strict=True)]  # fmt: skip
    assert points == [pytest.approx(p, abs=0.06) for p in expected]
    assert "curve" not in render_html(results_frame(records())).replace("robustness", "")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed")
def test_robustness_curve_is_on_the_page_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "leaderboard.html"
    page.write_text(render_html(results_frame(_curve_records())))
    dom = _dump_dom(page, tmp_path)
    svg = re.search(r'<svg[^>]*class="robustness-curve".*?</svg>', dom, flags=re.DOTALL)
    assert svg is not None and 'id="robustness-curve"' in dom
    assert sorted(re.findall(r'data-defense="(\w+)"', svg.group(0))) == ["cgat", "none"]
