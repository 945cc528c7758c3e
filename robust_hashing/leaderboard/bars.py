"""Bar chart of the rank key per defense (one leaderboard group), with an mAP axis, as SVG."""

from __future__ import annotations

import html
import math

import pandas as pd

from robust_hashing.leaderboard.scatter import rank_figure

LABEL_W = 160  # bars start here


def _se_whisker(value: float, se: float, x0: int, scale: float, y: int, bar: int) -> str:
    """A ±1 standard error line across the end of a bar."""
    lo, hi = (round(x0 + min(max(v, 0.0), 1.0) * scale, 1) for v in (value - se, value + se))
    mid = y + bar / 2
    return (
        f'<path class="se" d="M{lo},{mid}H{hi}M{lo},{y + 4}V{y + bar - 4}M{hi},{y + 4}'
        f'V{y + bar - 4}" stroke="#222" stroke-width="1.2" fill="none">'
        f"<title>±1 standard error over the queries: {se:.4f}</title></path>"
    )


def _axis(y: int, scale: float, key: str) -> list[str]:
    """The mAP axis under the bars: a line, ticks every 0.2 and the axis label."""
    parts = [f'<path class="axis" d="M{LABEL_W},{y}H{LABEL_W + scale:.1f}" stroke="#444"/>']
    for k in range(6):
        x = round(LABEL_W + k / 5 * scale, 1)
        parts.append(
            f'<path class="tick" d="M{x},{y}v5" stroke="#444"/>'
            f'<text class="tick" x="{x}" y="{y + 17}" text-anchor="middle">{k / 5:.1f}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{LABEL_W + scale / 2:.0f}" y="{y + 34}" '
        f'text-anchor="middle">{key} (bar) · clean mAP (grey mark)</text>'
    )
    return parts


def chart_svg(frame: pd.DataFrame, width: int = 640, bar: int = 18) -> str:
    """Horizontal bars of the rank key per defense (by rank), with an mAP axis, as inline SVG.

    The bar is the per-query worst case (``worst_case_map``; ``min_attack_map`` where it is
    unknown); a grey mark shows the clean mAP. Where the standard error over the queries is
    known, a whisker spans ±1 standard error, so gaps that the query sample alone could make
    are visible.
    """
    y, parts = 6, []
    scale = width - LABEL_W - 60
    for row in frame.sort_values(["rank", "defense"]).to_dict("records"):
        value, se = rank_figure(row)
        length = 0 if math.isnan(value) else round(value * scale, 1)
        label = "n/a" if math.isnan(value) else f"{value:.4f}"
        name = html.escape(str(row["defense"]))
        parts.append(f'<text x="0" y="{y + 13}">{name}</text>')
        parts.append(
            f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{length}" height="{bar}" '
            f'fill="#4c78a8"><title>{name}: {label}</title></rect>'
        )
        clean = row.get("clean_map")
        if isinstance(clean, int | float) and not math.isnan(clean):
            x = round(LABEL_W + min(max(float(clean), 0.0), 1.0) * scale, 1)
            parts.append(
                f'<path class="clean" d="M{x},{y - 2}V{y + bar + 2}" stroke="#888" '
                f'stroke-width="3"><title>{name}: clean mAP {clean:.4f}</title></path>'
            )
        if not math.isnan(value) and not math.isnan(se):
            parts.append(_se_whisker(value, se, LABEL_W, scale, y, bar))
            length = round(min(value + se, 1.0) * scale, 1)  # the label after the whisker
        parts.append(f'<text x="{LABEL_W + length + 4}" y="{y + 13}">{label}</text>')
        y += bar + 4
    known = "worst_case_map" in frame and frame["worst_case_map"].notna().any()
    parts.extend(_axis(y + 2, scale, "worst-case mAP" if known else "min-attack mAP"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" width="{width}" '
        f'height="{y + 42}" role="img" aria-label="worst-case mAP per defense">'
        f"{''.join(parts)}</svg>"
    )
