"""LightningCLI wiring for ``robust-hashing fit/validate/test/predict``.

Any :class:`~robust_hashing.tasks.HashingTask` subclass (every defense is one) and any
:class:`~robust_hashing.datamodules.HashingDataModule` subclass can be chosen by
``class_path`` in YAML, so third-party classes work without changes here. The data
module's ``num_train`` and ``num_classes`` are linked into the model.

Bad input ends in one line: a parse error without the usage block, a defense without a
clean checkpoint, an invalid Trainer setting (:class:`CLIUsageError`, exit 2 in
:mod:`robust_hashing.main`). ``WANDB_MODE=disabled`` drops any ``WandbLogger`` of the
config, as it does for the benchmark runner.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from robust_hashing.datamodules import HashingDataModule
from robust_hashing.tasks import HashingTask

DEFAULT_CONFIG = "fit_embedded.yaml"


def default_config_path() -> Path:
    """Packaged default config: 32-bit DPSH, small CNN, embedded data."""
    return Path(str(resources.files("robust_hashing") / "configs" / DEFAULT_CONFIG))


class CLIUsageError(ValueError):
    """A command line or config the ``fit``/``test``/… commands refuse (one-line message)."""


class _Parser(LightningArgumentParser):
    """LightningArgumentParser whose errors are the message alone, without the usage block."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        """Print ``<prog>: error: <message>`` and a pointer to ``--help``; exit 2."""
        if not self.exit_on_error:
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        text = _condensed(message)
        sys.stderr.write(f"{prog}: error: {text}\n({prog} --help lists the options)\n")
        self.exit(2)


_CLASS_PROBLEM = re.compile(r"Problem with given class_path '([^']+)':\s*\n\s*(.+)")


def _condensed(message: str) -> str:
    """Jsonargparse's report of a refused ``class_path`` value, in one line.

    ``Parser key "model": … Problem with given class_path 'X': <why> …`` becomes
    ``Parser key "model": X: <why>``; any other message is returned stripped.
    """
    found = _CLASS_PROBLEM.search(message)
    if found is None:
        return message.strip()
    return f"{message.strip().splitlines()[0]} {found.group(1)}: {found.group(2).strip()}"


def _is_wandb_logger(entry: Any) -> bool:
    path = entry.get("class_path", "") if hasattr(entry, "get") else ""
    return str(path).rsplit(".", 1)[-1] == "WandbLogger"


class HashingCLI(LightningCLI):
    """LightningCLI that links data-set sizes into the task."""

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        """The parser of the command and of each sub-command (one-line errors)."""
        from jsonargparse import ActionConfigFile

        kwargs.setdefault("dump_header", [f"lightning.pytorch=={_lightning_version()}"])
        parser = _Parser(**kwargs)
        parser.add_argument(
            "-c", "--config", action=ActionConfigFile, help="Path to a configuration file in YAML."
        )
        return parser

    def before_instantiate_classes(self) -> None:
        """Drop WandbLogger entries under ``WANDB_MODE=disabled`` (the CSV logger stays)."""
        if os.environ.get("WANDB_MODE", "").lower() != "disabled":
            return
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        loggers = config.get("trainer", {}).get("logger") if config else None
        if isinstance(loggers, list):
            config["trainer"]["logger"] = [e for e in loggers if not _is_wandb_logger(e)] or False
        elif loggers is not None and _is_wandb_logger(loggers):
            config["trainer"]["logger"] = False

    def before_fit(self) -> None:
        """Refuse to train a defense from random weights: every defense fine-tunes."""
        from robust_hashing.defenses.base import DefenseTask

        if (
            isinstance(self.model, DefenseTask)
            and self.model.hparams.get("clean_checkpoint") is None
        ):
            raise CLIUsageError(
                f"{type(self.model).__name__} fine-tunes a clean model: give "
                "--model.init_args.clean_checkpoint PATH (a checkpoint of `robust-hashing fit`)"
            )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link ``data.num_train``/``data.num_classes`` to the model's arguments."""
        parser.link_arguments("data.num_train", "model.init_args.num_train", apply_on="instantiate")
        parser.link_arguments(
            "data.num_classes", "model.init_args.num_classes", apply_on="instantiate"
        )


def _lightning_version() -> str:
    import lightning

    return str(lightning.__version__)


def _takes_own_config(args: list[str]) -> bool:
    """Whether the sub-command's options name a config or ask for help / the config.

    Matches every spelling argparse accepts: ``--config PATH``, ``--config=PATH``,
    ``-c PATH``, ``-cPATH``, ``-c=PATH``, ``--print_config[=...]``, ``-h``, ``--help``.
    Nothing after a bare ``--`` is an option.
    """
    for arg in args:
        if arg == "--":
            return False
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in ("--config", "--print_config", "--help", "-h"):
            return True
        if arg.startswith("-c") and not arg.startswith("--"):
            return True
    return False


def run_lightning_cli(args: list[str]) -> HashingCLI:
    """Run LightningCLI on ``args``; ``fit`` without ``--config`` uses the packaged default."""
    if args and args[0] == "fit" and not _takes_own_config(args[1:]):
        args = [args[0], "--config", str(default_config_path()), *args[1:]]
    argv, sys.argv = sys.argv, sys.argv[:1]  # ``args`` is the whole command line
    try:
        return HashingCLI(
            HashingTask,
            HashingDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            args=args,
        )
    finally:
        sys.argv = argv
