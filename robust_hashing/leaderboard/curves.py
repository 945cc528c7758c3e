"""The robustness curve of the leaderboard page: robust mAP vs ε, one line per defense.

Drawn from the frame's ``curve_eps<n>`` columns (mAP under ``curve_attack`` at ε = n/255)
as inline SVG, one chart per leaderboard group, so the page stays static and offline.
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6")
_EPS = re.compile(r"^curve_eps(.+)$")


def curve_points(frame: pd.DataFrame) -> list[tuple[str, float]]:
    """(column, ε in 1/255 units) of the frame's curve columns, by ε."""
    points = []
    for column in frame.columns:
        match = _EPS.match(str(column))
        if match:
            text = match.group(1)
            steps = float(text) if text.isdigit() else float(text) * 255
            points.append((str(column), steps))
    return sorted(points, key=lambda p: p[1])


def curve_svg(group: pd.DataFrame, points: list[tuple[str, float]], title: str) -> str:
    """One chart: robust mAP (y, 0–1) against ε (x, in 1/255), a polyline per defense."""
    width, height, left, right, top, bottom = 560, 260, 44, 130, 22, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    top_eps = max(p[1] for p in points) or 1.0

    def xy(steps: float, value: float) -> str:
        x = left + steps / top_eps * plot_w
        return f"{x:.1f},{top + (1 - min(max(value, 0.0), 1.0)) * plot_h:.1f}"

    parts = [f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>']
    parts.append(
        f'<path d="M{left},{top}V{top + plot_h}H{left + plot_w}" stroke="#444" fill="none"/>'
    )
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<text x="4" y="{top + (1 - tick) * plot_h + 4:.1f}">{tick:.1f}</text>')
    for _, steps in points:
        x = left + steps / top_eps * plot_w
        parts.append(f'<text x="{x - 10:.1f}" y="{height - 12}">{steps:g}/255</text>')
    for i, row in enumerate(group.sort_values(["rank", "defense"]).itertuples(index=False)):
        name = html.escape(str(row.defense))
        values = [(s, float(getattr(row, c))) for c, s in points]
        values = [(s, v) for s, v in values if not math.isnan(v)]
        if not values:
            continue
        color = PALETTE[i % len(PALETTE)]
        line = " ".join(xy(s, v) for s, v in values)
        label = ", ".join(f"{s:g}/255: {v:.4f}" for s, v in values)
        parts.append(
            f'<polyline class="curve" data-defense="{name}" points="{line}" fill="none" '
            f'stroke="{color}" stroke-width="2"><title>{name}: {label}</title></polyline>'
        )
        parts.extend(
            f'<circle cx="{xy(s, v).split(",")[0]}" cy="{xy(s, v).split(",")[1]}" r="3" '
            f'fill="{color}"/>'
            for s, v in values
        )
        y = top + 12 + 16 * i
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + plot_w + 26}" y="{y}">{name}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="robustness-curve" width="{width}" '
        f'height="{height}" role="img" aria-label="robustness curve: robust mAP vs epsilon">'
        f"{''.join(parts)}</svg>"
    )
