"""The wandb summary run of a leaderboard: its Table, its figures, one run per leaderboard.

The run id is derived from the leaderboard folder (:func:`summary_run_id`) and the run is
opened with ``resume="allow"``, so a rerun of the runner logs into the same run online. An
offline run is a new folder per start (``offline-run-<time>-<id>``); since each start logs
the whole leaderboard again, the folders of earlier starts of the same run are removed, so
a rerun adds no run. The page's figures go to wandb as they are on the page, inline SVG in
``wandb.Html`` (no network assets, nothing to rasterise), plus the trade-off as a native
wandb scatter plot of the leaderboard Table.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from robust_hashing.benchmark.grid import Grid
from robust_hashing.leaderboard.bars import chart_svg
from robust_hashing.leaderboard.columns import GROUP_COLUMNS
from robust_hashing.leaderboard.heatmap import heatmap_panels
from robust_hashing.leaderboard.labels import caption
from robust_hashing.leaderboard.page_css import STYLE
from robust_hashing.leaderboard.scatter import scatter_svg


def summary_run_id(leaderboard_dir: str | Path) -> str:
    """``leaderboard-<16 hex digits>``: a stable wandb run id of one leaderboard folder."""
    digest = hashlib.sha256(str(Path(leaderboard_dir).resolve()).encode("utf-8")).hexdigest()
    return f"leaderboard-{digest[:16]}"


def _page(title: str, svg: str) -> str:
    """One figure as a small self-contained HTML document."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{STYLE}</style></head>'
        f"<body><p><b>{title}</b></p>{svg}</body></html>"
    )


def figure_pages(frame: pd.DataFrame) -> dict[str, str]:
    """The wandb key → HTML of each page figure: ``bars``, ``tradeoff``, ``heatmap_<mode>``.

    Keys get a ``_<n>`` suffix per leaderboard group after the first.
    """
    pages: dict[str, str] = {}
    groups = frame.groupby(GROUP_COLUMNS, sort=True, dropna=False)
    for index, (key, group) in enumerate(groups):
        title, suffix = caption(key), f"_{index}" if index else ""
        figures = {"bars": chart_svg(group), "tradeoff": scatter_svg(group)}
        figures |= {f"heatmap_{mode}": svg for mode, svg in heatmap_panels(group)}
        pages |= {f"{name}{suffix}": _page(title, svg) for name, svg in figures.items() if svg}
    return pages


def prune_offline_runs(wandb_dir: Path, run_id: str, keep: Path) -> list[Path]:
    """Remove the offline folders of ``run_id`` under ``wandb_dir/wandb`` other than ``keep``."""
    removed = []
    root = wandb_dir / "wandb"
    # wandb appends "-<n>" when two starts of one run fall in the same second
    folders = [*root.glob(f"offline-run-*-{run_id}"), *root.glob(f"offline-run-*-{run_id}-*")]
    for folder in sorted(folders):
        if folder.resolve() != keep.resolve():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def log_wandb_summary(
    frame: pd.DataFrame,
    images: dict[str, Path | None],
    wandb_dir: Path,
    grid: Grid,
    leaderboard_dir: str | Path | None = None,
) -> str:
    """Log the leaderboard Table, its figures and ``images`` to the leaderboard's wandb run.

    Args:
        frame: the leaderboard.
        images: name → PNG (None: not drawn) logged as ``wandb.Image``.
        wandb_dir: where wandb writes (``<cache dir>/wandb``: beside the cells' runs).
        grid: the grid (project, name, profile).
        leaderboard_dir: the leaderboard folder the run belongs to (default: the grid's).

    Returns:
        The run id.
    """
    import wandb

    from robust_hashing.benchmark.loggers import DEFAULT_PROJECT, wandb_mode

    run_id = summary_run_id(leaderboard_dir or grid.leaderboard_dir)
    offline = wandb_mode() != "online"
    wandb_dir.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        project=str(grid.wandb.get("project", DEFAULT_PROJECT)),
        id=run_id,
        resume="allow",
        group="summary",
        job_type="leaderboard",
        name=f"leaderboard-{grid.name}",
        dir=str(wandb_dir),
        mode="offline" if offline else "online",
        config={"grid": grid.name, "profile": grid.profile},
    )
    folder = Path(run.dir).parent
    table = wandb.Table(dataframe=frame.fillna(-1.0))
    logged: dict[str, Any] = {"leaderboard": table}
    if {"clean_map", "worst_case_map"} <= set(frame.columns):
        logged["tradeoff_scatter"] = wandb.plot.scatter(
            table, "clean_map", "worst_case_map", title="clean vs worst-case mAP"
        )
    for name, page in figure_pages(frame).items():
        logged[f"page/{name}"] = wandb.Html(page, inject=False, data_is_not_path=True)
    logged |= {k: wandb.Image(str(v)) for k, v in images.items() if v is not None}
    run.log(logged)
    run.finish()
    if offline:
        prune_offline_runs(wandb_dir, run_id, keep=folder)
    return run_id
