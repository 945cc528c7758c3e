"""``robust-hashing benchmark --grid benchmark/quick.yaml [options]``: fill a grid.

Prints one progress line per cell event, then the leaderboard table, the failures (exit
status 1 if any) and the ``wandb sync`` command for the offline runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from robust_hashing.benchmark.cells import RegistryCatalog
from robust_hashing.benchmark.executors import (
    Executor,
    InlineExecutor,
    LocalExecutor,
    SlurmExecutor,
)
from robust_hashing.benchmark.grid import Grid, GridError, load_grid
from robust_hashing.benchmark.plugins import PluginError, load_plugins
from robust_hashing.benchmark.runner import RunOptions, RunSummary, run_grid


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``benchmark`` command."""
    p = argparse.ArgumentParser(prog="robust-hashing benchmark", description=__doc__)
    p.add_argument("--grid", default="benchmark/quick.yaml", type=Path, help="grid YAML file")
    p.add_argument("--devices", default="auto", help="N or 'auto': GPUs to spread cells over "
                   "(one process per GPU); on CPU, N parallel workers splitting the cores (auto = 1)")  # fmt: skip
    p.add_argument("--executor", choices=("local", "slurm", "inline"), default="local",
                   help="local subprocesses, SLURM jobs via submitit, or in-process (debug)")  # fmt: skip
    p.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE",
                   help="submitit parameter, e.g. slurm_partition=gpu (repeatable)")  # fmt: skip
    p.add_argument("--plugin", action="append", default=[], metavar="PATH_OR_MODULE",
                   help="import a defense/attack plugin (.py file or module; repeatable)")  # fmt: skip
    p.add_argument("--cache-dir", default=Path(".cache/benchmark"), type=Path)
    p.add_argument("--leaderboard-dir", default=None, type=Path,
                   help="default: the grid's leaderboard_dir")  # fmt: skip
    p.add_argument("--only", default=None, metavar="PATTERN", help="run matching cells (fnmatch)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and what is cached")
    return p


def resolve_devices(value: str, accelerator: str) -> tuple[list[int], int]:
    """GPU ids and CPU worker count for ``--devices``."""
    import torch

    gpus = torch.cuda.device_count() if accelerator in ("auto", "gpu", "cuda") else 0
    if value != "auto" and (not value.isdigit() or int(value) < 1):
        raise ValueError(f"--devices must be a positive integer or 'auto', got {value!r}")
    if gpus:
        n = gpus if value == "auto" else min(int(value), gpus)
        return list(range(n)), 1
    return [], 1 if value == "auto" else int(value)


def make_executor(name: str, cache_dir: Path, slurm: list[str], workers: int = 1) -> Executor:
    """The executor called ``name`` (``workers``: parallel CPU workers of the local one)."""
    if name == "inline":
        return InlineExecutor()
    if name == "slurm":
        params = dict(item.split("=", 1) for item in slurm)
        return SlurmExecutor(cache_dir / "slurm", params)
    return LocalExecutor(cpu_workers=workers)


def _epilogue(summary: RunSummary, cache_dir: Path, grid: Grid) -> None:
    """Print the table; log the wandb summary run and print the ``wandb sync`` command."""
    from robust_hashing.benchmark.loggers import sync_hint, wandb_enabled
    from robust_hashing.benchmark.summary import (
        log_wandb_summary,
        pr_curve_figure,
        robust_map_figure,
    )

    frame = summary.frame
    if frame is None:
        return
    print("\n" + frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if wandb_enabled() and len(frame):
        figures = cache_dir / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        images = {"robust_map": robust_map_figure(frame, figures / "robust_map.png")}
        defense_cells = [c for c in summary.cells if c.kind == "defense"]
        images["pr_curves"] = pr_curve_figure(defense_cells, figures / "pr_curves.png")
        log_wandb_summary(frame, images, cache_dir / "wandb", grid)
        hint = sync_hint(cache_dir / "wandb")
        if hint:
            print(f"\nwandb runs are offline; upload them with:\n  {hint}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark command; returns the exit status (1 if a cell failed)."""
    args = build_parser().parse_args(argv)
    try:
        grid = load_grid(args.grid)
        plugins = [*grid.plugins, *args.plugin]
        load_plugins(plugins)
        gpus, workers = resolve_devices(str(args.devices), grid.trainer["accelerator"])
        executor = make_executor(args.executor, args.cache_dir, args.slurm, workers)
    except (GridError, PluginError, ValueError, ImportError) as err:
        print(f"robust-hashing benchmark: error: {err}", file=sys.stderr)
        return 2
    opts = RunOptions(
        cache_dir=args.cache_dir,
        leaderboard_dir=args.leaderboard_dir or Path(grid.leaderboard_dir),
        gpus=gpus,
        workers=workers,
        plugins=plugins,
        only=args.only,
        dry_run=args.dry_run,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = run_grid(grid, opts, executor, RegistryCatalog())
    except KeyboardInterrupt:
        print(
            "\nrobust-hashing benchmark: interrupted; finished cells are cached in "
            f"{args.cache_dir}: run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    _epilogue(summary, args.cache_dir, grid)
    return summary.exit_code


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: unwind like Ctrl-C so that running workers are stopped."""
    raise KeyboardInterrupt
