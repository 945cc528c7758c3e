"""What the commands print: known third-party noise hidden unless ``--verbose``.

:func:`set_verbose` is called once by each command (``fit``/``validate``/``test``/
``predict`` and ``attack``). By default it hides a short, fixed list of messages that say
nothing about the run, each matched by its own text on the logger or warning category
that emits it (:data:`LIGHTNING_INFO`, :data:`WARNINGS`, :data:`WANDB_WARNINGS`); every
other message, warning and error still shows. ``--verbose`` (``set_verbose(True)``)
shows everything.

Nothing here imports Lightning or wandb, so a command's ``--help`` stays fast; the quiet
progress bar is :class:`robust_hashing.tasks.progress.EncodeProgressBar`.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from typing import Any

#: Lightning's info lines that describe the installation, not the run (matched at the start).
LIGHTNING_INFO: tuple[str, ...] = (
    r"💡 Tip: .*litlogger",  # advertisements: every Trainer prints one or both
    r"💡 Tip: .*litmodels",
    r"GPU available: ",
    r"TPU available: ",
    r"HPU available: ",
)
#: The loggers Lightning's ``rank_zero_info`` writes to.
LIGHTNING_LOGGERS: tuple[str, ...] = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)
#: Python warnings of the installed libraries that need no action (message regexes).
WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # torch deprecates LeafSpec; the installed Lightning's _pytree helper still checks it
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    # an encode returns its codes through the module, not through predict_step's output
    (r"predict returned None if it was on purpose", UserWarning),
)
#: wandb's terminal warnings that need no action (matched at the start of the message).
WANDB_WARNINGS: tuple[str, ...] = (
    r"The anonymous setting has no effect",  # Lightning's WandbLogger always passes it
    r"git root .* does not exist",  # a run folder outside any git repository
)
_state = {"verbose": False}


def _matches(patterns: tuple[str, ...], text: str) -> bool:
    return any(re.match(pattern, text) for pattern in patterns)


class _LightningInfoFilter(logging.Filter):
    """Drop the :data:`LIGHTNING_INFO` records unless verbose."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is shown."""
        return _state["verbose"] or not _matches(LIGHTNING_INFO, record.getMessage())


_FILTER = _LightningInfoFilter()


def is_verbose() -> bool:
    """Whether the current command asked for everything (``--verbose``)."""
    return _state["verbose"]


def set_verbose(verbose: bool = False) -> None:
    """Hide the known third-party noise (default) or show everything (``verbose``).

    Idempotent; a later call with the other value undoes an earlier one. The wandb filter
    is installed by :func:`quiet_wandb` once wandb is about to be used.
    """
    _state["verbose"] = verbose
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    action = "default" if verbose else "ignore"
    for message, category in WARNINGS:
        warnings.filterwarnings(action, message=message, category=category)  # type: ignore[arg-type]


def quiet_wandb() -> None:
    """Route wandb's terminal warnings through the :data:`WANDB_WARNINGS` filter.

    Imports wandb (call it only where a wandb logger is configured); does nothing when
    wandb is not installed. The filter reads the verbosity at each message.
    """
    try:
        import wandb
    except ImportError:
        return
    current: Callable[..., None] = wandb.termwarn
    if getattr(current, "_robust_hashing_filter", False):
        return

    def termwarn(string: str, *args: Any, **kwargs: Any) -> None:
        if _state["verbose"] or not _matches(WANDB_WARNINGS, str(string)):
            current(string, *args, **kwargs)

    termwarn._robust_hashing_filter = True  # type: ignore[attr-defined]
    wandb.termwarn = termwarn
