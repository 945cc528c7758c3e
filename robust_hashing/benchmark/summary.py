"""End-of-run outputs: leaderboard JSONs from finished attack cells, figures.

The wandb summary run is :mod:`robust_hashing.benchmark.wandb_summary`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from robust_hashing.benchmark.cell_types import AttackInfo, DefenseInfo
from robust_hashing.benchmark.cells import Cell
from robust_hashing.benchmark.grid import Grid
from robust_hashing.constants import DEFAULT_EPS, NORM
from robust_hashing.leaderboard.schema import CellResult, Provenance


def cell_result(
    cell: Cell, payload: dict[str, Any], grid: Grid, sweep: dict[str, Any] | None = None
) -> CellResult:
    """Leaderboard record of a finished attack cell (its ``done.json`` payload).

    ``sweep`` is the result of the defended model's sweep cell, if it finished: an
    untargeted cell gets its attack's ``transfer`` figure, and the cell of the curve's
    attack the ``curve``.
    """
    report = payload["result"]
    attack, defense = cell.part(AttackInfo), cell.part(DefenseInfo)
    targeted = attack.targeted
    bounded = bool(report.get("bounded", True))
    sweep = sweep or {}
    curve = sweep.get("curve")
    if targeted or curve is None or curve.get("attack") != attack.name:
        curve = None
    transfer = None if targeted else sweep.get("transfer", {}).get(attack.name)
    return CellResult(
        dataset=cell.victim.dataset,
        bits=cell.victim.bits,
        backbone=grid.backbone,
        method=grid.method,
        defense=defense.id,
        attack=attack.name,
        mode=attack.mode,
        profile=grid.profile,
        clean_map=report["clean_map"],
        adv_map=report.get("adv_map"),
        clean_tmap=report.get("clean_tmap") if targeted else None,
        adv_tmap=report.get("adv_tmap") if targeted else None,
        asr=report["asr"],
        linf=report["linf"],
        l2=report["l2"],
        rmse=report["rmse"],
        theory=report.get("theory"),
        bit_flip=report.get("bit_flip"),
        bounded=bounded,
        footnote="" if bounded else "unbounded attack (as published); see rmse",
        top_k=None if report.get("top_k") is None else int(report["top_k"]),
        n_queries=int(report["n_queries"]),
        figure_se=report.get("adv_tmap_se" if targeted else "adv_map_se"),
        threat=report.get("threat")
        or {"norm": NORM, "eps": float(attack.hp.get("eps", DEFAULT_EPS))},
        attack_hp=report.get("attack_hp") or attack.hp,
        defense_hp=defense.named_hp,
        per_query=report.get("per_query"),
        transfer=transfer,
        curve=curve,
        provenance=Provenance.measured(cell.key, payload),
    )


def robust_map_figure(frame: pd.DataFrame, path: Path) -> Path:
    """Bar chart PNG of the per-query worst-case mAP per defense (one panel per dataset/bits).

    Error bars span ±1 standard error over the queries; where the worst case is unknown the
    bar is the per-attack minimum.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(frame.groupby(["dataset", "bits"], sort=True))
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=(5 * max(len(groups), 1), 3.5))
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    for ax, ((dataset, bits), group) in zip(axes, groups, strict=False):
        known = group["worst_case_map"].notna()
        value = group["worst_case_map"].where(known, group["min_attack_map"])
        se = group["worst_case_map_se"].where(known, group["min_attack_map_se"])
        ax.bar(
            group["defense"], value.fillna(0.0), color="#4c78a8", label="worst case",
            yerr=se.fillna(0.0), capsize=3,
        )  # fmt: skip
        ax.bar(group["defense"], group["clean_map"], fill=False, edgecolor="#999", label="clean")
        ax.set_title(f"{dataset} {bits} bits")
        ax.set_ylabel("mAP")
        ax.set_ylim(0, 1.15)
        ax.tick_params(axis="x", rotation=30)
        ax.legend(loc="upper center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def robustness_curve_figure(frame: pd.DataFrame, path: Path) -> Path | None:
    """Robust mAP vs ε PNG, one line per defense (one panel per dataset/bits); None if no curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from robust_hashing.leaderboard.curves import curve_points

    points = curve_points(frame)
    if not points:
        return None
    groups = list(frame.groupby(["dataset", "bits"], sort=True))
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.5), squeeze=False)
    for ax, ((dataset, bits), group) in zip(axes[0], groups, strict=True):
        for row in group.sort_values(["rank", "defense"]).itertuples(index=False):
            values = [float(getattr(row, c)) for c, _ in points]
            ax.plot([s for _, s in points], values, marker="o", label=str(row.defense))
        ax.set_title(f"{dataset} {bits} bits")
        ax.set_xlabel("ε (/255)")
        ax.set_ylabel("robust mAP")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pr_curve_figure(defense_cells: list[Cell], path: Path) -> Path | None:
    """PR curves (clean queries) of every defended model that has a ``clean_eval.json``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = []
    for cell in defense_cells:
        file = cell.dir / "clean_eval.json"
        if file.is_file():
            data = json.loads(file.read_text())
            victim = cell.victim
            curves.append((f"{victim.dataset}-{victim.bits}/{cell.part(DefenseInfo).id}", data))
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, data in curves:
        precision = [math.nan if p is None else p for p in data["pr_precision"]]
        ax.plot(data["pr_recall"], precision, label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
