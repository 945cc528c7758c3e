"""Static ``leaderboard.html``: per group, inline-SVG figures and a sortable table.

Per leaderboard group (dataset, bits, victim, profile, threat model, top_k, queries): a bar
chart of the rank key with an mAP axis, the clean-versus-robust scatter, the defense ×
attack heatmaps, the robustness curve where recorded, and the table; each figure with a
one-line "how to read this". No scripts, fonts or styles from the network: it works offline.
"""

from __future__ import annotations

import html

import pandas as pd

from robust_hashing.leaderboard.bars import chart_svg
from robust_hashing.leaderboard.columns import GROUP_COLUMNS
from robust_hashing.leaderboard.curves import curve_points, curve_svg
from robust_hashing.leaderboard.heatmap import heatmap_panels
from robust_hashing.leaderboard.labels import caption
from robust_hashing.leaderboard.page_css import SCRIPT, STYLE
from robust_hashing.leaderboard.ranking_columns import ranking_note
from robust_hashing.leaderboard.scatter import scatter_svg
from robust_hashing.leaderboard.table import table_html

__all__ = ["chart_svg", "render_html", "table_html"]

HOW_TO_READ = {
    "bars": "Bar: the rank key, worst-case mAP (mean over the queries of the lowest AP any "
    "bounded untargeted attack leaves); whisker: ±1 standard error over the queries; grey "
    "mark: clean mAP. Longer is more robust.",
    "tradeoff": "One point per defense: clean mAP (x) against worst-case mAP (y). Up is more "
    "robust, right is more accurate; the dashed diagonal is no loss under attack.",
    "untargeted": "One cell per defense (row) and untargeted attack (column): the mAP left "
    "under that attack, beside the clean mAP and the per-query worst case. Green is good for "
    "the defense, red bad.",
    "targeted": "One cell per defense (row) and targeted attack (column): the t-mAP, how often "
    "the attack reached its target. Lower is better for the defense, so the colours are "
    "reversed: green is still good for the defense.",
    "curve": "mAP under the strongest untargeted attack on the undefended model (named in the "
    "title) at each L∞ budget ε; higher is more robust, a steep fall means little margin.",
    "table": "Every figure of the group; click a header to sort. Scroll the box sideways for "
    "the attack columns; the defense column stays in view.",
}


def _figure(kind: str, title: str, body: str, how_key: str = "", ident: str = "") -> str:
    how = HOW_TO_READ[how_key or kind]
    anchor = f' id="{ident}"' if ident else ""
    return (
        f'<figure class="{kind}"{anchor}><figcaption>{html.escape(title)}</figcaption>'
        f'<p class="how">How to read this: {how}</p>\n{body}</figure>'
    )


def group_section(key: tuple[object, ...], group: pd.DataFrame, index: int) -> str:
    """One group's heading (its constant key columns), figures and table."""
    points = curve_points(group)
    figures = [_figure("bars", "Worst-case robust mAP per defense", chart_svg(group))]
    scatter = scatter_svg(group)
    if scatter:
        figures.append(_figure("tradeoff", "Clean versus robust mAP (trade-off)", scatter))
    figures += [
        _figure("heatmap", f"Defense × attack ({mode})", svg, mode)
        for mode, svg in heatmap_panels(group)
    ]
    attacks = sorted({str(a) for a in group.get("curve_attack", []) if isinstance(a, str) and a})
    if points and attacks:
        title = f"robust mAP vs ε under {', '.join(attacks)}"
        curve = curve_svg(group, points, title)
        ident = "robustness-curve" + (f"-{index}" if index else "")
        title = f"Robustness curve ({', '.join(attacks)})"
        figures.append(_figure("curve", title, curve, ident=ident))
    text, body = html.escape(caption(key)), "\n".join(figures)
    return (
        f'<section class="group" id="group-{index}">\n<h2 class="group">{text}</h2>\n'
        f'<div class="figures">\n{body}\n</div>\n'
        f'<h3>Table</h3>\n<p class="how">How to read this: {HOW_TO_READ["table"]}</p>\n'
        f"{table_html(group.drop(columns=GROUP_COLUMNS), caption=caption(key))}\n</section>"
    )


def render_html(frame: pd.DataFrame, title: str = "Leaderboard") -> str:
    """A self-contained HTML page: the notes, then per group its figures and its table."""
    safe = html.escape(title)
    groups = frame.groupby(GROUP_COLUMNS, sort=True, dropna=False)
    sections = "\n".join(group_section(k, g, i) for i, (k, g) in enumerate(groups))
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{safe}</title><style>{STYLE}</style></head>
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
by the per-attack minimum until re-produced).</p>{ranking_note(frame)}
{sections}
<script>{SCRIPT}</script>
</body>
</html>
"""
