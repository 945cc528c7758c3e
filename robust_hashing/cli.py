"""LightningCLI wiring for ``robust-hashing fit/validate/test/predict``.

Any :class:`~robust_hashing.tasks.HashingTask` subclass (every defense is one) and any
:class:`~robust_hashing.datamodules.HashingDataModule` subclass can be chosen by
``class_path`` in YAML, so third-party classes work without changes here. The data
module's ``num_train`` and ``num_classes`` are linked into the model.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from robust_hashing.datamodules import HashingDataModule
from robust_hashing.tasks import HashingTask

DEFAULT_CONFIG = "fit_embedded.yaml"


def default_config_path() -> Path:
    """Packaged default config: 32-bit DPSH, small CNN, embedded data."""
    return Path(str(resources.files("robust_hashing") / "configs" / DEFAULT_CONFIG))


class HashingCLI(LightningCLI):
    """LightningCLI that links data-set sizes into the task."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link ``data.num_train``/``data.num_classes`` to the model's arguments."""
        parser.link_arguments("data.num_train", "model.init_args.num_train", apply_on="instantiate")
        parser.link_arguments(
            "data.num_classes", "model.init_args.num_classes", apply_on="instantiate"
        )


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
