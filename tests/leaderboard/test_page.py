"""The figures and the table of the leaderboard page: heatmaps, trade-off scatter, bars, table."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from robust_hashing.leaderboard import parse_result, results_frame
from robust_hashing.leaderboard.bars import chart_svg
from robust_hashing.leaderboard.heatmap import colour, heatmap_panels
from robust_hashing.leaderboard.html import render_html
from robust_hashing.leaderboard.labels import column_groups
from robust_hashing.leaderboard.scatter import scatter_svg
from robust_hashing.leaderboard.table import table_html

from .conftest import make_record


def _frame(figures: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    return results_frame(
        [parse_result(make_record(d, a, m, figure=v)) for (d, a, m), v in figures.items()]
    )


@pytest.mark.parametrize("value", [0.0, 0.1, 0.25, 0.5, 0.7, 1.0])
def test_heatmap_colour_is_a_red_yellow_green_scale(value: float) -> None:
    stops = np.array([[215, 48, 39], [254, 224, 139], [26, 152, 80]], dtype=float)
    rgb = [round(float(np.interp(value, [0.0, 0.5, 1.0], stops[:, k]))) for k in range(3)]
    got = [int(colour(value)[i : i + 2], 16) for i in (1, 3, 5)]
    assert got == pytest.approx(rgb, abs=1)  # one unit for the rounding of .5
    assert colour(value - 2) == colour(0.0) and colour(value + 2) == colour(1.0)


def test_targeted_heatmap_reverses_the_colour_scale() -> None:
    frame = _frame({("cgat", "hag", "untargeted"): 0.9, ("cgat", "dhta", "targeted"): 0.9,
                    ("none", "hag", "untargeted"): 0.1, ("none", "dhta", "targeted"): 0.1})  # fmt: skip
    (mode_u, untargeted), (mode_t, targeted) = heatmap_panels(frame)
    assert (mode_u, mode_t) == ("untargeted", "targeted")

    def fill(svg: str, name: str) -> str:
        match = re.search(rf'fill="(#\w+)"><title>{re.escape(name)}: ', svg)
        assert match is not None, name
        return match.group(1)

    # a high mAP is good for the defense, a high t-mAP bad: the same value, opposite colours
    assert fill(untargeted, "cgat × HAG") == colour(0.9) == fill(targeted, "none × DHTA")
    assert fill(targeted, "cgat × DHTA") == colour(0.1) == fill(untargeted, "none × HAG")
    assert ">0.900</text>" in targeted and "clean" in untargeted and "HAG" not in targeted


def test_scatter_places_one_labelled_point_per_defense() -> None:
    frame = _frame({("cgat", "hag", "untargeted"): 0.4, ("none", "hag", "untargeted"): 0.2})
    svg = scatter_svg(frame)
    points = {
        d: (float(x), float(y))
        for d, x, y in re.findall(r'data-defense="(\w+)" cx="([\d.]+)" cy="([\d.]+)"', svg)
    }
    # x: clean 0.8 on [0.7, 0.9] over 388 px from 52; y: robust on [0.1, 0.5] over 262 px
    assert points["cgat"] == pytest.approx((52 + 0.5 * 388, 24 + (1 - 0.75) * 262), abs=0.06)
    assert points["none"] == pytest.approx((52 + 0.5 * 388, 24 + (1 - 0.25) * 262), abs=0.06)
    assert ">cgat</text>" in svg and ">none</text>" in svg and "clean mAP</text>" in svg


def test_bar_chart_has_an_map_axis_with_ticks() -> None:
    svg = chart_svg(_frame({("cgat", "hag", "untargeted"): 0.4}), width=640)
    ticks = re.findall(r'<text class="tick" x="([\d.]+)"[^>]*>([\d.]+)</text>', svg)
    assert [t for _, t in ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert [float(x) for x, _ in ticks] == pytest.approx([160 + k * 84 for k in range(6)])
    assert 'class="axis"' in svg and "min-attack mAP (bar)" in svg  # no per-query data here


def test_table_groups_attack_columns_and_moves_constant_columns_to_the_caption() -> None:
    frame = _frame({("cgat", "hag", "untargeted"): 0.4, ("cgat", "dhta", "targeted"): 0.3,
                    ("none", "hag", "untargeted"): 0.2, ("none", "dhta", "targeted"): 0.6})  # fmt: skip
    page = render_html(frame)
    head = re.search(r"<thead>(.*?)</thead>", page, flags=re.DOTALL).group(1)  # type: ignore[union-attr]
    top, names = re.findall(r"<tr>(.*?)</tr>", head)
    groups = re.findall(r'colspan="(\d+)">([^<]+)</th>', top)
    assert [g for _, g in groups] == [
        "summary",
        "untargeted attacks: mAP under attack (higher = more robust)",
        "targeted attacks: t-mAP (lower is better)",
    ]
    headers = re.findall(r"<th [^>]*>([^<]+)</th>", names)
    assert "HAG mAP" in headers and "DHTA t-mAP (lower is better)" in headers
    assert sum(int(n) for n, _ in groups) == len(headers)  # every column under one group
    assert not {"dataset", "bits", "method", "backbone", "threat", "hag"} & set(headers)
    caption = re.search(r"<caption>(.*?)</caption>", page).group(1)  # type: ignore[union-attr]
    assert caption == (
        "embedded · 32 bits · dpsh / small_cnn · profile quick · linf 8/255 · full ranking "
        "· queries ?"
    )
    assert '<div class="table-scroll">' in page and 'class="defense"' in page


def test_further_column_families_get_their_own_header_groups() -> None:
    frame = _frame({("cgat", "hag", "untargeted"): 0.4, ("cgat", "dhta", "targeted"): 0.3})
    frame["ers"], frame["ers_bn"] = 41.0, 88.0  # the ranking protocol's group
    frame["extra_a"], frame["extra_b"] = 1.0, 2.0  # an unknown family, after the attacks
    groups = dict(column_groups([str(c) for c in frame.columns]))
    assert groups["ranking protocol (RobRank): figures and ERS"] == ["ers", "ers_bn"]
    assert groups["extra"] == ["extra_a", "extra_b"]
    assert groups["untargeted attacks: mAP under attack (higher = more robust)"] == ["hag"]
    table = table_html(frame)
    assert 'colspan="2">extra</th>' in table and "<td" in table
    shown = re.findall(r'<th data-col="\d+" data-column="([^"]+)"', table)
    assert shown[-4:] == ["ers", "ers_bn", "extra_a", "extra_b"]
    assert "flags" not in shown and "worst_case_map" not in shown  # empty in every row
