"""``robust-hashing benchmark --grid benchmark/quick.yaml [options]``: fill a grid.

Prints one progress line per cell event, then the leaderboard table, the failures (exit
status 1 if any) and the ``wandb sync`` command for the offline runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from robust_hashing.benchmark.catalog import RegistryCatalog
from robust_hashing.benchmark.cells import SelectionError
from robust_hashing.benchmark.executors import (
    RUNNER_SLURM_KEYS,
    Executor,
    InlineExecutor,
    LocalExecutor,
    SlurmExecutor,
)
from robust_hashing.benchmark.grid import Grid, GridError, load_grid
from robust_hashing.benchmark.runner import RunOptions, RunSummary, run_grid
from robust_hashing.errors import first_line, int_at_least, key_value
from robust_hashing.io import unwritable_reason
from robust_hashing.leaderboard.schema import SchemaError
from robust_hashing.plugins import PluginError, import_plugin, load_entry_points

DESCRIPTION = """\
Fill a benchmark grid: robust-hashing benchmark --grid benchmark/quick.yaml [options]

Prints one progress line per cell event, then the leaderboard table, the failures (exit
status 1 if any) and the `wandb sync` command for the offline runs. Bad input (grid file,
plugin, option) is reported on one line with exit status 2 before anything runs.
"""

_slurm_pair = key_value("slurm_partition=gpu or timeout_min=60")


def slurm_param(text: str) -> tuple[str, Any]:
    """Parse one ``--slurm KEY=VALUE`` (argparse ``type``); values typed by ``typed_value``."""
    key, value = _slurm_pair(text)
    if key in RUNNER_SLURM_KEYS:
        raise argparse.ArgumentTypeError(
            f"{key} is set by the runner for every cell (one task, the cell's GPUs)"
        )
    return key, value


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Description as written; option help wrapped without breaking words at hyphens."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``benchmark`` command."""
    p = argparse.ArgumentParser(
        prog="robust-hashing benchmark",
        description=DESCRIPTION,
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--grid", default=Path("benchmark/quick.yaml"), type=Path,
                   help="grid YAML file (default: %(default)s)")  # fmt: skip
    p.add_argument("--devices", default="auto", help="N or 'auto': GPUs to spread cells over "
                   "(one process per GPU); on CPU, N parallel workers splitting the cores "
                   "(auto = 1; default: %(default)s). The attack cells of one defended model "
                   "go to one worker together and run there one after another, so the "
                   "progress line's 'running' count can exceed the workers")  # fmt: skip
    p.add_argument("--per-gpu", default=1, type=int_at_least(1, "a positive integer"), metavar="N",
                   help="cells that share one GPU at a time, each in its own process (small "
                   "models leave a large GPU idle); the host's cores are split between all "
                   "running cells; no effect without GPUs (default: %(default)s)")  # fmt: skip
    p.add_argument("--executor", choices=("local", "slurm", "inline"), default="local",
                   help="local subprocesses, SLURM jobs via submitit, or in-process (debug) "
                   "(default: %(default)s)")  # fmt: skip
    p.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE", type=slurm_param,
                   help="with --executor slurm: a submitit AutoExecutor.update_parameters "
                   "setting (repeatable): generic keys such as timeout_min=60, mem_gb=32, "
                   "cpus_per_task=8, name=...; SLURM-only keys with the slurm_ prefix, e.g. "
                   "slurm_partition=gpu, slurm_account=..., slurm_qos=...; integers, numbers and "
                   "true/false are typed; gpus_per_node and tasks_per_node are set per cell "
                   "(default timeout_min: 240)")  # fmt: skip
    p.add_argument("--plugin", action="append", default=[], metavar="PATH_OR_MODULE",
                   help="import a defense/attack plugin (.py file or module; repeatable)")  # fmt: skip
    p.add_argument("--cache-dir", default=Path(".cache/benchmark"), type=Path,
                   help="cached artefacts: models, attack reports, wandb runs, figures "
                   "(default: %(default)s)")  # fmt: skip
    p.add_argument("--leaderboard-dir", default=None, type=Path,
                   help="where results/ and leaderboard.csv/.html go (default: the grid's "
                   "leaderboard_dir)")  # fmt: skip
    p.add_argument("--only", default=None, metavar="PATTERN",
                   help="run only the cells whose id matches PATTERN, a substring or fnmatch "
                   "pattern (* is added at both ends) over cell ids such as "
                   "attack/embedded-32bit-dpsh-small_cnn/cgat/hag or clean/*, plus the cells "
                   "they depend on; an error if it matches no cell")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="print the plan and what is cached")
    p.add_argument("--rehash", action="store_true",
                   help="read every image of the data sets again for the cache keys, instead "
                   "of trusting the digests remembered by file size and modification time "
                   "(catches an image edited in place with both unchanged)")  # fmt: skip
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


def make_executor(
    name: str,
    cache_dir: Path,
    slurm: list[tuple[str, Any]],
    workers: int = 1,
    dry_run: bool = False,
    gpu_workers: int = 1,
) -> Executor:
    """The executor called ``name``.

    ``workers``: parallel CPU workers of the local one; ``gpu_workers``: how many of its
    workers run on GPUs at once (GPUs × ``--per-gpu``); ``slurm``: the parsed ``--slurm``
    settings of the SLURM one (see :func:`slurm_param`), which needs SLURM on this machine
    unless ``dry_run``.
    """
    if name == "inline":
        return InlineExecutor()
    if name == "slurm":
        return SlurmExecutor(cache_dir / "slurm", dict(slurm), require_slurm=not dry_run)
    return LocalExecutor(cpu_workers=workers, gpu_workers=gpu_workers)


def _epilogue(summary: RunSummary, cache_dir: Path, grid: Grid, leaderboard_dir: Path) -> None:
    """Print the table; log the wandb summary run and print the ``wandb sync`` command."""
    from robust_hashing.benchmark.loggers import sync_hint, wandb_enabled
    from robust_hashing.benchmark.summary import (
        pr_curve_figure,
        robust_map_figure,
        robustness_curve_figure,
    )
    from robust_hashing.benchmark.wandb_summary import log_wandb_summary
    from robust_hashing.leaderboard import to_console_text

    frame = summary.frame
    if frame is None:
        return
    print("\n" + to_console_text(frame))
    if wandb_enabled() and len(frame):
        figures = cache_dir / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        images = {"robust_map": robust_map_figure(frame, figures / "robust_map.png")}
        defense_cells = [c for c in summary.cells if c.kind == "defense"]
        images["pr_curves"] = pr_curve_figure(defense_cells, figures / "pr_curves.png")
        images["robustness_curve"] = robustness_curve_figure(frame, figures / "curve.png")
        log_wandb_summary(frame, images, cache_dir / "wandb", grid, leaderboard_dir)
        hint = sync_hint(cache_dir / "wandb")
        if hint:
            print(f"\nwandb runs are offline; upload them with:\n  {hint}")


def _error(err: BaseException | str) -> int:
    """Print a one-line error and return the exit status of bad input (2)."""
    text = " ".join(str(err).split())
    print(f"robust-hashing benchmark: error: {text}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark command; returns the exit status (1 if a cell failed, 2 on bad input)."""
    args = build_parser().parse_args(argv)
    if args.slurm and args.executor != "slurm":
        return _error("--slurm needs --executor slurm")
    catalog = RegistryCatalog()
    try:
        grid = load_grid(args.grid)
        plugins = [*grid.plugins, *args.plugin]
        load_entry_points()
        for spec in grid.plugins:
            try:
                import_plugin(spec)
            except PluginError as err:
                raise GridError(f"{args.grid}: key 'plugins': {err}") from None
        for spec in args.plugin:
            import_plugin(spec)
        gpus, workers = resolve_devices(str(args.devices), grid.trainer["accelerator"])
        executor = make_executor(
            args.executor,
            args.cache_dir,
            args.slurm,
            workers,
            dry_run=args.dry_run,
            gpu_workers=len(gpus) * args.per_gpu,
        )
    except (GridError, PluginError, ValueError, ImportError) as err:
        return _error(err)
    opts = RunOptions(
        cache_dir=args.cache_dir,
        leaderboard_dir=args.leaderboard_dir or Path(grid.leaderboard_dir),
        gpus=gpus,
        workers=workers,
        per_gpu=args.per_gpu,
        plugins=plugins,
        only=args.only,
        dry_run=args.dry_run,
        rehash=args.rehash,
    )
    if not args.dry_run:  # before any cell runs: a read-only folder is one line, not a traceback
        for option, folder in (("--cache-dir", opts.cache_dir),
                               ("--leaderboard-dir", opts.leaderboard_dir)):  # fmt: skip
            reason = unwritable_reason(folder)
            if reason is not None:
                return _error(f"{option} {folder}: {reason}")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = run_grid(grid, opts, executor, catalog)
    except (GridError, SelectionError) as err:  # plan()'s grid check and --only, before any cell
        return _error(err)
    except SchemaError as err:  # publishing: a result file, or two cells of one row, disagree
        print(
            f"robust-hashing benchmark: the cells are cached, but the leaderboard could not be "
            f"rendered: {first_line(err)}",
            file=sys.stderr,
        )
        return 1
    except OSError as err:  # a full disk, a folder that became read-only: files stay as they were
        print(f"robust-hashing benchmark: error: {first_line(err)}; finished cells are cached "
              f"in {args.cache_dir}: run the same command again to resume", file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt:
        print(
            "\nrobust-hashing benchmark: interrupted; finished cells are cached in "
            f"{args.cache_dir}: run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    _epilogue(summary, args.cache_dir, grid, opts.leaderboard_dir)
    return summary.exit_code


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: unwind like Ctrl-C so that running workers are stopped."""
    raise KeyboardInterrupt
