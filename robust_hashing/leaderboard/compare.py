"""Does a re-run reproduce a leaderboard? Cell-by-cell figures and the ranking of two boards.

The leaderboard accepts a submission only when the runner reproduces it, and CPU figures
are bit-exact only on the same kind of processor (README: "CPU figures depend on the
CPU"). :func:`compare_boards` matches the cells of a reference board and of a re-run by
what they measure (dataset, bits, victim, profile, mAP depth, query count, defense, attack
column) and says, for each, whether the re-run's figure (mAP under attack, or t-mAP) and
clean mAP reproduce: within ``max(tol, se × standard error)``, where the standard error
over the queries (``figure_se``) is the larger of the two cells' (``tol`` alone where
neither records one). It also compares the order of the defenses inside each leaderboard
group, since that is what the board claims.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from robust_hashing.leaderboard.render import GROUP_COLUMNS, key_value, results_frame
from robust_hashing.leaderboard.schema import CellResult

DEFAULT_TOL = 0.02
DEFAULT_SE = 2.0


def cell_name(cell: CellResult) -> str:
    """``embedded/32bit/dpsh/small_cnn/quick/linf-8_255/top1000/80q/cgat/hag-targeted``."""
    group = group_name(*(key_value(cell, c) for c in GROUP_COLUMNS))
    return f"{group}/{cell.defense}/{cell.column}"


def group_name(*key: object) -> str:
    """A leaderboard group (``GROUP_COLUMNS`` values) as ``embedded/32bit/…/top1000/80q``.

    The threat model reads ``linf-8_255`` (``v1`` for protocol-v1 records); a null ``top_k`` (the full database) ``topall``;
    a null query count ``?q``.
    """
    dataset, bits, method, backbone, profile, threat, top_k, n_queries = (
        None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v for v in key
    )
    top = "all" if top_k is None else top_k
    queries = "?" if n_queries is None else n_queries
    threat_part = str(threat or "v1").replace(" ", "-").replace("/", "_")
    return f"{dataset}/{bits}bit/{method}/{backbone}/{profile}/{threat_part}/top{top}/{queries}q"


@dataclass(frozen=True)
class CellDiff:
    """One cell present in both boards: reference ``a``, re-run ``b``."""

    name: str
    figure_a: float
    figure_b: float
    clean_a: float
    clean_b: float
    se: float | None  # the larger recorded standard error of the figure, None if neither

    @property
    def delta(self) -> float:
        """Re-run figure minus reference figure."""
        return self.figure_b - self.figure_a

    @property
    def clean_delta(self) -> float:
        """Re-run clean mAP minus reference clean mAP."""
        return self.clean_b - self.clean_a

    def allowed(self, tol: float, se: float) -> float:
        """The largest |Δ| that counts as reproduced: ``max(tol, se × standard error)``."""
        return max(tol, se * self.se) if self.se is not None else tol

    def reproduces(self, tol: float, se: float) -> bool:
        """Figure and clean mAP both within :meth:`allowed`."""
        limit = self.allowed(tol, se)
        return abs(self.delta) <= limit and abs(self.clean_delta) <= limit


@dataclass
class Comparison:
    """Everything :func:`compare_boards` found."""

    diffs: list[CellDiff] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)  # reference cells the re-run lacks
    only_b: list[str] = field(default_factory=list)  # re-run cells the reference lacks
    rankings: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    def failures(self, tol: float, se: float) -> list[CellDiff]:
        """Cells whose figure or clean mAP does not reproduce, largest |Δ| first."""
        bad = [d for d in self.diffs if not d.reproduces(tol, se)]
        return sorted(bad, key=lambda d: (-max(abs(d.delta), abs(d.clean_delta)), d.name))

    def reordered(self) -> list[tuple[str, list[str], list[str]]]:
        """Groups whose defenses are ranked in another order: ``(group, order_a, order_b)``."""
        return [r for r in self.rankings if r[1] != r[2]]

    def reproduced(self, tol: float, se: float) -> bool:
        """No reference cell missing, every figure within tolerance, every order the same."""
        return not (self.only_a or self.failures(tol, se) or self.reordered())


def _max_se(a: CellResult, b: CellResult) -> float | None:
    known = [s for s in (a.figure_se, b.figure_se) if s is not None]
    return max(known) if known else None


def _orders(results: list[CellResult]) -> dict[str, list[str]]:
    """Per leaderboard group, its defenses in rank order."""
    frame = results_frame(results)
    orders: dict[str, list[str]] = {}
    for key, group in frame.groupby(GROUP_COLUMNS, sort=True, dropna=False):
        orders[group_name(*key)] = [str(d) for d in group.sort_values("rank")["defense"]]
    return orders


def compare_boards(a: list[CellResult], b: list[CellResult]) -> Comparison:
    """Compare reference results ``a`` with re-run results ``b`` (see the module docstring)."""
    cells_a = {cell_name(c): c for c in a}
    cells_b = {cell_name(c): c for c in b}
    out = Comparison(
        only_a=sorted(set(cells_a) - set(cells_b)), only_b=sorted(set(cells_b) - set(cells_a))
    )
    for name in sorted(set(cells_a) & set(cells_b)):
        ca, cb = cells_a[name], cells_b[name]
        out.diffs.append(
            CellDiff(name, ca.figure, cb.figure, ca.clean_map, cb.clean_map, _max_se(ca, cb))
        )
    shared_a = [c for n, c in cells_a.items() if n in cells_b]
    shared_b = [c for n, c in cells_b.items() if n in cells_a]
    if shared_a:
        orders_a, orders_b = _orders(shared_a), _orders(shared_b)
        out.rankings = [(g, orders_a[g], orders_b.get(g, [])) for g in sorted(orders_a)]
    return out


def comparison_text(cmp: Comparison, tol: float, se: float, show: int = 10) -> str:
    """A terminal report: summary, the cells that do not reproduce, the reordered groups."""
    lines = []
    fails = cmp.failures(tol, se)
    deltas = [abs(d.delta) for d in cmp.diffs]
    rule = f"|Δ| ≤ max({tol:g}, {se:g} × standard error over the queries)"
    lines.append(
        f"{len(cmp.diffs)} cells in both boards; {len(cmp.only_a)} only in the reference, "
        f"{len(cmp.only_b)} only in the re-run"
    )
    if deltas:
        worst = max(cmp.diffs, key=lambda d: abs(d.delta))
        clean = max(abs(d.clean_delta) for d in cmp.diffs)
        lines.append(
            f"|Δ figure|: median {statistics.median(deltas):.4f}, largest {abs(worst.delta):.4f}"
            f" ({worst.name}); |Δ clean mAP| largest {clean:.4f}"
        )
        lines.append(f"{len(cmp.diffs) - len(fails)} of {len(cmp.diffs)} cells reproduce: {rule}")
    for d in fails[:show]:
        se_text = "no standard error" if d.se is None else f"se {d.se:.4f}"
        lines.append(
            f"  not reproduced: {d.name}: figure {d.figure_a:.4f} → {d.figure_b:.4f} "
            f"(Δ {d.delta:+.4f}), clean {d.clean_a:.4f} → {d.clean_b:.4f}; allowed "
            f"{d.allowed(tol, se):.4f} ({se_text})"
        )
    if len(fails) > show:
        lines.append(f"  … and {len(fails) - show} more (--show N lists more)")
    for name in cmp.only_a[:show]:
        lines.append(f"  missing from the re-run: {name}")
    if len(cmp.only_a) > show:
        lines.append(f"  … and {len(cmp.only_a) - show} more missing")
    same = len(cmp.rankings) - len(cmp.reordered())
    lines.append(f"ranking: same order in {same} of {len(cmp.rankings)} groups")
    for group, order_a, order_b in cmp.reordered():
        lines.append(f"  {group}: {' > '.join(order_a)}  →  {' > '.join(order_b)}")
    verdict = "REPRODUCED" if cmp.reproduced(tol, se) else "NOT REPRODUCED"
    lines.append(verdict)
    return "\n".join(lines)


def comparison_figure(cmp: Comparison, tol: float, se: float, path: str | Path) -> Path:
    """Scatter PNG of re-run against reference figure, one point per cell.

    Error bars span each cell's allowed difference (:meth:`CellDiff.allowed`); cells that do
    not reproduce are drawn in red, and the diagonal is perfect agreement.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="#999", linewidth=1, zorder=0)
    for ok, color, label in ((True, "#4c78a8", "reproduced"), (False, "#d62728", "not")):
        cells = [d for d in cmp.diffs if d.reproduces(tol, se) is ok]
        if cells:
            ax.errorbar(
                [d.figure_a for d in cells],
                [d.figure_b for d in cells],
                yerr=[d.allowed(tol, se) for d in cells],
                fmt="o", markersize=4, color=color, elinewidth=0.8, capsize=2,
                label=f"{label} ({len(cells)})",
            )  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("reference: mAP / t-mAP under attack")
    ax.set_ylabel("re-run")
    ax.set_title(f"allowed |Δ| = max({tol:g}, {se:g} × se)", fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = [
    "DEFAULT_SE",
    "DEFAULT_TOL",
    "CellDiff",
    "Comparison",
    "cell_name",
    "compare_boards",
    "comparison_figure",
    "comparison_text",
    "group_name",
]
