"""Checks of ``robust-hashing attack``'s values made before any model is loaded.

Hyper-parameter values against the attack's signature (types, ε in (0, 1], positive step
sizes: :mod:`robust_hashing.hparams`), and the folders the command will write into
(``--out``, ``--cache-dir``, a new ``--targets`` file): a read-only folder is reported in one
line before the compute, not in a traceback after it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from robust_hashing.hparams import hp_problem
from robust_hashing.io import unwritable_reason


def hp_value_problem(names: list[str], hp: dict[str, Any]) -> str | None:
    """The first value of ``hp`` that an attack of ``names`` would refuse, or None."""
    from robust_hashing.attacks import ATTACKS

    for name in names:
        problem = hp_problem(ATTACKS.get(name), hp)
        if problem is not None:
            key, message = problem
            return f"argument --hp {key}={hp[key]!r}: attack {name!r}: {message}"
    return None


def output_problem(args: argparse.Namespace) -> str | None:
    """The first output of the command that could not be written, or None."""
    outputs: list[tuple[str, Any, bool]] = [
        ("--out", args.out, False),
        ("--cache-dir", args.cache_dir, True),
    ]
    if args.targets and not Path(args.targets).exists():  # drawn, then stored there
        outputs.append(("--targets", args.targets, False))
    for option, value, folder in outputs:
        if value is None:
            continue
        reason = unwritable_reason(value, folder=folder)
        if reason is not None:
            return f"argument {option}: cannot write {value}: {reason}"
    return None
