"""What ``robust-hashing attack`` prints first: the headline of a report.

:func:`format_headline` turns the report of one attack into a short block whose first line
is the result a user looks for: the attack and its mode, the figure on clean and on
attacked queries with the relative change and its standard error, the query count and ε;
then ASR and perceptibility. The full report (every key) follows only with ``--verbose``,
and always goes to ``--out``. ``--attack all`` prints :func:`format_table` instead.

The standard error of the relative change r = a/c − 1 (c clean, a attacked mAP or t-mAP,
each with its standard error over the queries, ``*_se`` in the report) is propagated to
first order as if the two were independent:
SE(r) = √(SE(a)² + (a/c)²·SE(c)²) / c. Both are measured on the same queries, which
usually makes the true error of the change smaller than this.
"""

from __future__ import annotations

import math
from typing import Any


def format_eps(eps: float | None, bounded: bool = True) -> str:
    """``"8/255"`` for a budget on the 1/255 grid, else four decimals; unbounded noted."""
    if not bounded:
        return "unbounded (no ε-ball)"
    if eps is None:
        return "–"
    steps = eps * 255
    if abs(steps - round(steps)) < 1e-6 and round(steps) > 0:
        return f"{round(steps)}/255"
    return f"{eps:.4f}"


def relative_change(
    clean: float, attacked: float, clean_se: Any, attacked_se: Any
) -> tuple[float, float]:
    """``(r, SE(r))`` of r = attacked/clean − 1; ``(nan, nan)`` when clean is 0.

    A missing (None or NaN) standard error gives a NaN SE(r).
    """
    if not clean:
        return math.nan, math.nan
    ratio = attacked / clean
    se_c, se_a = _number(clean_se), _number(attacked_se)
    se = math.sqrt(se_a**2 + (ratio * se_c) ** 2) / clean
    return ratio - 1.0, se


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _percent(value: float, signed: bool = True) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{100 * value:+.1f} %" if signed else f"{100 * value:.1f} %"


def figure_name(report: dict[str, Any]) -> str:
    """``"mAP@1000"`` or ``"t-mAP@1000"`` (``"mAP (full ranking)"`` without a cut-off)."""
    name = "t-mAP" if report.get("mode") == "targeted" else "mAP"
    top_k = report.get("top_k")
    return f"{name}@{top_k}" if top_k else f"{name} (full ranking)"


def headline_line(report: dict[str, Any]) -> str:
    """The one line a user wants: attack, mode, clean → attacked figure, change, queries, ε."""
    key = "tmap" if report.get("mode") == "targeted" else "map"
    clean, attacked = _number(report.get(f"clean_{key}")), _number(report.get(f"adv_{key}"))
    change, se = relative_change(
        clean, attacked, report.get(f"clean_{key}_se"), report.get(f"adv_{key}_se")
    )
    spread = "" if math.isnan(se) else f" ± {_percent(se, signed=False)}"
    eps = format_eps(report.get("eps"), bool(report.get("bounded", True)))
    return (
        f"{report.get('attack')} ({report.get('mode')}): {figure_name(report)} "
        f"{clean:.4f} → {attacked:.4f} ({_percent(change)}{spread}) "
        f"on {report.get('n_queries')} queries, ε = {eps}"
    )


def format_headline(report: dict[str, Any]) -> str:
    """The headline block of one report (see the module docstring)."""
    lines = [headline_line(report)]
    asr_n = report.get("asr_n", "N")
    if report.get("asr") is not None:
        clean_asr = report.get("clean_asr")
        base = "" if clean_asr is None else f" (clean queries {_number(clean_asr):.3f})"
        lines.append(f"  {f'ASR@{asr_n}':<13} {_number(report['asr']):.3f}{base}")
    if report.get("linf") is not None:
        lines.append(
            f"  perturbation  L∞ {_number(report['linf']):.4f}, "
            f"L2 {_number(report.get('l2')):.3f}, RMSE {_number(report.get('rmse')):.4f}"
        )
    if report.get("theory") is not None:
        lines.append(f"  theory bound  {_number(report['theory']):.4f} (a perfect attack's figure)")
    if report.get("seconds") is not None:
        lines.append(f"  attack time   {_number(report['seconds']):.1f} s")
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """Two-column text table of every scalar entry of the report (``--verbose``)."""
    rows = [
        (k, f"{v:.4f}" if isinstance(v, float) else str(v))
        for k, v in sorted(report.items())
        if not isinstance(v, (dict, list))
    ]
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def format_table(reports: list[dict[str, Any]]) -> str:
    """Markdown table of ``--attack all``: one row per attack (mAP, or t-mAP if targeted)."""
    head = "| attack | mode | clean | attacked | theory | ASR@N | RMSE | L∞ | seconds |"
    rows = [head, "|" + "---|" * 9]
    for r in reports:
        key = "tmap" if r["mode"] == "targeted" else "map"
        cells = [r[f"clean_{key}"], r[f"adv_{key}"], r["theory"], r["asr"], r["rmse"], r["linf"]]
        numbers = " | ".join(_cell(v) for v in cells)
        rows.append(f"| {r['attack']} | {r['mode']} | {numbers} | {_cell(r['seconds'], 1)} |")
    return "\n".join(rows)


def _cell(value: Any, digits: int = 4) -> str:
    """A float with ``digits`` decimals, or '–' for a missing / NaN value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.{digits}f}"
