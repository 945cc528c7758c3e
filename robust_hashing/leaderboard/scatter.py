"""The clean-versus-robust trade-off of one leaderboard group, as an inline-SVG scatter plot.

One labelled point per defense: clean mAP on x, the rank key (``worst_case_map``, or
``min_attack_map`` where the worst case is unknown) on y, with ±1 standard error on y where
known. The dashed diagonal is "no loss under attack": the farther below it, the more an
attack costs; up and to the right is better.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from robust_hashing.leaderboard.curves import PALETTE

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 460, 330, 52, 20, 24, 44


def rank_figure(row: Mapping[Any, object]) -> tuple[float, float]:
    """(worst_case_map, its SE), or the per-attack minimum's where the worst case is unknown."""

    def number(name: str) -> float:
        value = row.get(name)
        return float(value) if isinstance(value, int | float) else math.nan

    if not math.isnan(number("worst_case_map")):
        return number("worst_case_map"), number("worst_case_map_se")
    return number("min_attack_map"), number("min_attack_map_se")


def _domain(values: list[float]) -> tuple[float, float]:
    """[lo, hi] on the 0.1 grid around ``values`` (at least 0.2 wide, inside [0, 1])."""
    lo = max(math.floor(min(values) * 10 - 0.5) / 10, 0.0)
    hi = min(math.ceil(max(values) * 10 + 0.5) / 10, 1.0)
    if hi - lo < 0.2:
        lo, hi = max(hi - 0.2, 0.0), min(max(hi - 0.2, 0.0) + 0.2, 1.0)
    return lo, hi


def scatter_svg(group: pd.DataFrame) -> str:
    """The trade-off scatter of one group ("" when no defense has both figures)."""
    points = []
    for row in group.sort_values(["rank", "defense"]).to_dict("records"):
        clean = float(row["clean_map"]) if isinstance(row["clean_map"], int | float) else math.nan
        robust, se = rank_figure(row)
        if not (math.isnan(clean) or math.isnan(robust)):
            points.append((str(row["defense"]), clean, robust, se))
    if not points:
        return ""
    known = "worst_case_map" in group and group["worst_case_map"].notna().any()
    y_name = "worst-case mAP" if known else "min-attack mAP"
    x_lo, x_hi = _domain([p[1] for p in points])
    y_lo, y_hi = _domain([p[2] for p in points])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(v: float) -> float:
        return LEFT + (v - x_lo) / (x_hi - x_lo) * plot_w

    def py(v: float) -> float:
        return TOP + (1 - (min(max(v, y_lo), y_hi) - y_lo) / (y_hi - y_lo)) * plot_h

    axis = f'<path class="axis" d="M{LEFT},{TOP}V{TOP + plot_h}H{LEFT + plot_w}" stroke="#444" fill="none"/>'
    parts = [axis]
    for k in range(round((x_hi - x_lo) * 10) + 1):
        v = x_lo + k / 10
        parts.append(
            f'<path d="M{px(v):.1f},{TOP + plot_h}v4" stroke="#444"/><text class="tick" '
            f'x="{px(v):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{v:.1f}</text>'
        )
    for k in range(round((y_hi - y_lo) * 10) + 1):
        v = y_lo + k / 10
        parts.append(
            f'<path d="M{LEFT - 4},{py(v):.1f}h4" stroke="#444"/><text class="tick" '
            f'x="{LEFT - 7}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>'
        )
    lo, hi = max(x_lo, y_lo), min(x_hi, y_hi)
    if lo < hi:  # y = x: no loss under attack
        parts.append(
            f'<path class="diagonal" d="M{px(lo):.1f},{py(lo):.1f}L{px(hi):.1f},{py(hi):.1f}" '
            'stroke="#999" stroke-dasharray="4 3" fill="none"/>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">clean mAP'
        "</text>"
        f'<text transform="translate(12,{TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{y_name} under attack</text>'
    )
    placed: list[tuple[float, float]] = []  # label positions so far, to avoid overlaps
    for i, (name, clean, robust, se) in enumerate(points):
        colour, x, y = PALETTE[i % len(PALETTE)], px(clean), py(robust)
        label_y = y - 6
        while any(abs(label_y - b) < 12 and abs(x - a) < 70 for a, b in placed):
            label_y += 12
        placed.append((x, label_y))
        if not math.isnan(se):
            parts.append(
                f'<path class="se" d="M{x:.1f},{py(robust - se):.1f}V{py(robust + se):.1f}" '
                f'stroke="{colour}" stroke-width="1.5"/>'
            )
        label = html.escape(name)
        anchor, dx = ("end", -7) if x > LEFT + plot_w * 0.75 else ("start", 7)
        parts.append(
            f'<circle class="point" data-defense="{label}" cx="{x:.1f}" cy="{y:.1f}" r="5" '
            f'fill="{colour}"><title>{label}: clean {clean:.4f}, worst case {robust:.4f}'
            f"</title></circle>"
            f'<text x="{x + dx:.1f}" y="{label_y:.1f}" text-anchor="{anchor}">{label}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tradeoff" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="clean mAP versus worst-case mAP">'
        f"{''.join(parts)}</svg>"
    )
