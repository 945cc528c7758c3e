"""Command-line entry point: ``robust-hashing <command> ...`` (also ``python -m robust_hashing``).

``fit``, ``validate``, ``test`` and ``predict`` go to LightningCLI (a task from
``robust_hashing.tasks``/``robust_hashing.defenses`` with a data module chosen by
``class_path``). The other commands are plain argparse programs, imported lazily so that
``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
COMMANDS: dict[str, tuple[str, str]] = {
    "attack": ("robust_hashing.attacks.cli", "attack one checkpoint and print/write the figures"),
    "benchmark": ("robust_hashing.benchmark.cli", "fill the defense × attack × data grid"),
    "leaderboard": ("robust_hashing.leaderboard.cli", "validate and render the leaderboard"),
    "prepare": ("robust_hashing.datasets.prepare.cli", "build list files from raw downloads"),
    "data": ("robust_hashing.datasets.cli", "build / verify / describe the embedded data"),
}

USAGE = """usage: robust-hashing [--version] <command> [options]

Lightning commands (see `robust-hashing fit --help`):
  fit, validate, test, predict   train or evaluate a hashing model or a defense from YAML

Benchmark commands:
{commands}

Run `robust-hashing <command> --help` for the options of one command;
`robust-hashing --version` prints the package version.
"""


def _usage() -> str:
    lines = "\n".join(f"  {name:<12} {doc}" for name, (_, doc) in COMMANDS.items())
    return USAGE.format(commands=lines)


def _input_error(
    err: BaseException, kinds: tuple[type[BaseException], ...]
) -> BaseException | None:
    """``err``, or the exception it was explicitly raised from, if of a ``kinds`` type.

    jsonargparse re-raises an error of a class's ``__init__`` (e.g. a missing
    ``clean_checkpoint``) as a multi-line ``ValueError`` *from* the original one, so the
    ``__cause__`` chain is followed (never ``__context__``, which would also match errors
    merely raised while another was being handled).
    """
    current: BaseException | None = err
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__
    return None


def _run_lightning(command: str, rest: list[str]) -> int:
    """Run a LightningCLI command; bad input ends in one line.

    Unreadable data or checkpoints (also one refused because loading it could run code)
    and a training stopped on a non-finite loss or weights exit 1; a refused setting (a defense without a clean
    checkpoint, an invalid Trainer option such as ``--trainer.devices 0``) exits 2.
    """
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from robust_hashing.cli import CLIUsageError, run_lightning_cli
    from robust_hashing.datasets.lists import DatasetError
    from robust_hashing.errors import first_line
    from robust_hashing.tasks.checkpoint import CheckpointError
    from robust_hashing.tasks.guards import NonFiniteError

    try:
        run_lightning_cli([command, *rest])
    except Exception as err:
        usage = _input_error(err, (CLIUsageError, MisconfigurationException))
        kinds = (DatasetError, CheckpointError, NonFiniteError, FileNotFoundError)
        cause = usage or _input_error(err, kinds)
        if cause is None:
            raise
        print(f"robust-hashing {command}: error: {first_line(cause)}", file=sys.stderr)
        return 2 if usage is not None else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(_usage(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if args[0] in ("-V", "--version"):
        from robust_hashing import __version__

        print(f"robust-hashing {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command in LIGHTNING_COMMANDS:
        return _run_lightning(command, rest)
    if command not in COMMANDS:
        print(f"robust-hashing: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


def entry() -> None:
    """Console-script wrapper that exits with :func:`main`'s code.

    When the reader of the output goes away (``robust-hashing benchmark --dry-run | head``),
    it stops quietly with status 141 (128 + SIGPIPE), as shell tools do, instead of a
    ``BrokenPipeError`` traceback.
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would flush stdout again at exit and fail once more: point it at devnull
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 141
    sys.exit(code)
