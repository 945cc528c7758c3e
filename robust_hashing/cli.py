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
from robust_hashing.tasks.safe_load import safe_torch_load

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
        verbose_option = kwargs.pop("verbose_option", False)
        parser = _Parser(**kwargs)
        if verbose_option:  # fit, predict (validate/test have the Trainer's own --verbose)
            parser.add_argument(
                "--verbose",
                action="store_true",
                help="show every message of Lightning and wandb (by default a few known, "
                "harmless ones are hidden; see robust_hashing/console.py)",
            )
        parser.add_argument(
            "-c", "--config", action=ActionConfigFile, help="Path to a configuration file in YAML."
        )
        return parser

    def before_instantiate_classes(self) -> None:
        """Hide known noise unless ``--verbose``; drop WandbLogger under ``WANDB_MODE=disabled``.

        The CSV logger stays.
        """
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        _apply_verbosity(config, self.subcommand)
        if os.environ.get("WANDB_MODE", "").lower() != "disabled":
            return
        loggers = config.get("trainer", {}).get("logger") if config else None
        if isinstance(loggers, list):
            config["trainer"]["logger"] = [e for e in loggers if not _is_wandb_logger(e)] or False
        elif loggers is not None and _is_wandb_logger(loggers):
            config["trainer"]["logger"] = False

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse; a ``--ckpt_path`` file is read here first, safely (refused in one line).

        Lightning reads the hyper-parameters of ``--ckpt_path`` right after parsing; a file
        that stores objects whose loading could run code is refused before that, and
        ``--weights_only false`` (Lightning's switch to unrestricted loading) is refused.
        """
        super().parse_arguments(parser, args)
        sub = self.config.get("subcommand")
        options = self.config.get(sub) if sub else None
        if options is None:
            return
        if options.get("weights_only") is False:
            raise CLIUsageError(
                "--weights_only false would run code stored in the checkpoint; "
                "checkpoints are only read as plain tensors and values"
            )
        ckpt_path = options.get("ckpt_path")
        if ckpt_path and Path(ckpt_path).is_file():
            safe_torch_load(ckpt_path)

    def instantiate_classes(self) -> None:
        """Build the classes; a value the model or data class refuses ends in one line.

        Jsonargparse wraps the ``__init__`` error of a ``class_path`` value (an unknown loss,
        negative bits, CSQ at 48 bits) in a multi-line union error; it becomes a
        :class:`CLIUsageError` naming the class and the original message.
        """
        try:
            super().instantiate_classes()
        except Exception as err:
            refused = _refused_value(err)
            if refused is None:
                raise
            raise refused from err

    def _load_safely(self) -> None:
        """Have Lightning read any ``ckpt_path`` with ``weights_only=True`` (no code runs)."""
        if self.subcommand is not None and "weights_only" in self.config_init[self.subcommand]:
            self.config_init[self.subcommand]["weights_only"] = True

    def before_validate(self) -> None:
        """Read ``--ckpt_path`` safely."""
        self._load_safely()

    def before_test(self) -> None:
        """Read ``--ckpt_path`` safely."""
        self._load_safely()

    def before_predict(self) -> None:
        """Read ``--ckpt_path`` safely."""
        self._load_safely()

    def before_fit(self) -> None:
        """Refuse to train a defense from random weights; add the :class:`FitSummary`."""
        from robust_hashing.defenses.base import DefenseTask
        from robust_hashing.tasks.summary import FitSummary

        self._load_safely()

        if (
            isinstance(self.model, DefenseTask)
            and self.model.hparams.get("clean_checkpoint") is None
        ):
            raise CLIUsageError(
                f"{type(self.model).__name__} fine-tunes a clean model: give "
                "--model.init_args.clean_checkpoint PATH (a checkpoint of `robust-hashing fit`)"
            )
        self.trainer.callbacks.append(FitSummary())  # type: ignore[attr-defined]

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link ``data.num_train``/``data.num_classes`` to the model's arguments."""
        parser.link_arguments("data.num_train", "model.init_args.num_train", apply_on="instantiate")
        parser.link_arguments(
            "data.num_classes", "model.init_args.num_classes", apply_on="instantiate"
        )


def _apply_verbosity(config: Any, subcommand: str | None) -> None:
    """Hide the known third-party noise unless ``fit``/``predict`` got ``--verbose``."""
    from robust_hashing.console import quiet_wandb, set_verbose

    asked = subcommand in ("fit", "predict") and config is not None
    verbose = bool(config.get("verbose", False)) if asked else False
    set_verbose(verbose)
    loggers = config.get("trainer", {}).get("logger") if config is not None else None
    entries = loggers if isinstance(loggers, list) else [loggers]
    if not verbose and any(e is not None and _is_wandb_logger(e) for e in entries):
        quiet_wandb()


_CLASS_PATH = re.compile(r"class_path='([^']+)'")


def _refused_value(err: BaseException) -> CLIUsageError | None:
    """The one-line usage error for a class ``__init__`` refusing a value (None: not one).

    The innermost ``__cause__`` is the class's own error; a missing or unreadable file
    (data set, checkpoint) is left as it is, for an exit status of 1.
    """
    from robust_hashing.datasets.lists import DatasetError
    from robust_hashing.errors import first_line
    from robust_hashing.tasks.safe_load import CheckpointError

    root = err
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    if root is err or isinstance(root, OSError | CheckpointError | DatasetError | CLIUsageError):
        return None
    if not isinstance(root, ValueError | KeyError | TypeError):
        return None
    reason = str(root.args[0]) if isinstance(root, KeyError) and root.args else first_line(root)
    found = _CLASS_PATH.search(str(err))
    where = f"{found.group(1)}: " if found else ""
    return CLIUsageError(f"{where}{reason}")


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
            parser_kwargs={name: {"verbose_option": True} for name in ("fit", "predict")},
            args=args,
        )
    finally:
        sys.argv = argv
