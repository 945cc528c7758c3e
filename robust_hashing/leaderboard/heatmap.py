"""Defense × attack heatmaps of one leaderboard group, as inline SVG.

One panel for the untargeted attacks (mAP under attack, with the clean mAP and the
per-query worst case beside them) and one for the targeted attacks (t-mAP and the worst
case). The colour is the figure, the text its value; the targeted panel reverses the scale
(a higher t-mAP is a stronger attack), so in both panels green is good for the defense and
red is bad.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from robust_hashing.leaderboard.columns import TARGETED_SUFFIX
from robust_hashing.leaderboard.labels import TARGETED, UNTARGETED, attack_name, column_groups

# good-for-the-defense scale: 0 → red, 0.5 → yellow, 1 → green
_STOPS = ((0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80)))
CELL_W, CELL_H, LABEL_W, HEAD_H = 84, 26, 120, 22


def colour(goodness: float) -> str:
    """``#rrggbb`` of a value in [0, 1] on the red-yellow-green scale (clipped)."""
    g = min(max(goodness, 0.0), 1.0)
    (a, ca), (b, cb) = (_STOPS[0], _STOPS[1]) if g <= 0.5 else (_STOPS[1], _STOPS[2])
    t = (g - a) / (b - a)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _text_colour(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#fff" if 0.299 * r + 0.587 * g + 0.114 * b < 130 else "#111"


def _short(column: str) -> str:
    if column == "clean_map":
        return "clean"
    if column in ("worst_case_map", "worst_case_tmap"):
        return "worst case"
    return attack_name(column.removesuffix(TARGETED_SUFFIX))


def panel_svg(group: pd.DataFrame, columns: list[str], title: str, reverse: bool) -> str:
    """One heatmap: a row per defense (by rank), a column per figure in ``columns``."""
    rows = group.sort_values(["rank", "defense"])
    width = LABEL_W + CELL_W * len(columns) + 4
    height = HEAD_H + CELL_H * len(rows) + 4
    kind = "targeted" if reverse else "untargeted"
    parts = []
    for j, column in enumerate(columns):
        x = LABEL_W + CELL_W * j + CELL_W / 2
        parts.append(
            f'<text x="{x:.0f}" y="{HEAD_H - 8}" text-anchor="middle">'
            f"{html.escape(_short(column))}</text>"
        )
    for i, row in enumerate(rows.to_dict("records")):
        y = HEAD_H + CELL_H * i
        defense = html.escape(str(row["defense"]))
        parts.append(f'<text x="0" y="{y + 17}">{defense}</text>')
        for j, column in enumerate(columns):
            value, x = row[column], LABEL_W + CELL_W * j
            parts.append(_cell(x, y, value, reverse, f"{defense} × {_short(column)}"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap {kind}" width="{width}" '
        f'height="{height}" role="img" aria-label="{html.escape(title)}">{"".join(parts)}</svg>'
    )


def _cell(x: int, y: int, value: object, reverse: bool, name: str) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return (
            f'<rect x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" height="{CELL_H - 2}" '
            f'fill="#eee"/><text x="{x + CELL_W / 2:.0f}" y="{y + 17}" text-anchor="middle" '
            'fill="#888">–</text>'
        )
    fill = colour(1.0 - value if reverse else float(value))
    return (
        f'<rect class="cell" x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" '
        f'height="{CELL_H - 2}" fill="{fill}"><title>{name}: {value:.4f}</title></rect>'
        f'<text x="{x + CELL_W / 2:.0f}" y="{y + 17}" text-anchor="middle" '
        f'fill="{_text_colour(fill)}">{value:.3f}</text>'
    )


def heatmap_panels(group: pd.DataFrame) -> list[tuple[str, str]]:
    """(mode, SVG) of the group's heatmaps: untargeted (if any attack), targeted (if any)."""
    groups = dict(column_groups([str(c) for c in group.columns]))
    panels: list[tuple[str, str]] = []
    untargeted = groups.get(UNTARGETED, [])
    if untargeted:
        cols = ["clean_map", *untargeted]
        cols += ["worst_case_map"] if group["worst_case_map"].notna().any() else []
        title = "Untargeted: mAP under attack (higher = more robust)"
        panels.append(("untargeted", panel_svg(group, cols, title, False)))
    targeted = groups.get(TARGETED, [])
    if targeted:
        cols = [*targeted]
        cols += ["worst_case_tmap"] if group["worst_case_tmap"].notna().any() else []
        title = "Targeted: t-mAP (lower is better; colour reversed)"
        panels.append(("targeted", panel_svg(group, cols, title, True)))
    return panels
