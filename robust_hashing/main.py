"""Command-line entry point: ``robust-hashing <command> ...`` (also ``python -m robust_hashing``).

``fit``, ``validate``, ``test`` and ``predict`` go to LightningCLI (a task from
``robust_hashing.tasks``/``robust_hashing.defenses`` with a data module chosen by
``class_path``). The other commands are plain argparse programs, imported lazily so that
``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
COMMANDS: dict[str, tuple[str, str]] = {
    "attack": ("robust_hashing.attacks.cli", "attack one checkpoint and print/write the figures"),
    "benchmark": ("robust_hashing.benchmark.cli", "fill the defense × attack × data grid"),
    "leaderboard": ("robust_hashing.leaderboard.cli", "validate and render the leaderboard"),
    "prepare": ("robust_hashing.datasets.prepare.cli", "build list files from raw downloads"),
    "data": ("robust_hashing.datasets.cli", "build / verify / describe the embedded data"),
}

USAGE = """usage: robust-hashing <command> [options]

Lightning commands (see `robust-hashing fit --help`):
  fit, validate, test, predict   train or evaluate a hashing model or a defense from YAML

Benchmark commands:
{commands}

Run `robust-hashing <command> --help` for the options of one command.
"""


def _usage() -> str:
    lines = "\n".join(f"  {name:<12} {doc}" for name, (_, doc) in COMMANDS.items())
    return USAGE.format(commands=lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command in LIGHTNING_COMMANDS:
        from robust_hashing.cli import run_lightning_cli

        run_lightning_cli([command, *rest])
        return 0
    if command not in COMMANDS:
        print(f"robust-hashing: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


def entry() -> None:
    """Console-script wrapper that exits with :func:`main`'s code."""
    sys.exit(main())
