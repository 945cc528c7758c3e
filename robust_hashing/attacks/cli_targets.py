"""Target labels of ``robust-hashing attack``: drawn once, stored, reused (algorithms §5.1).

The draw has its own seed (``--target-seed``, default 0), independent of the attack's
``--seed``, so attacks run with different seeds are compared on the same targets. With
``--targets FILE`` the labels are read from FILE (or drawn and stored there when it is
missing); otherwise, with ``--out REPORT``, they are drawn and stored next to the report as
``<REPORT stem>.targets.pt``, a file that ``--targets`` reads back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from robust_hashing.attacks.targets import (
    draw_target_labels,
    load_or_draw_stored_targets,
    read_stored_targets,
    save_targets,
)

DEFAULT_TARGET_SEED = 0


def stored_targets_path(out: str | Path) -> Path:
    """Where the targets drawn for the report ``out`` are stored: ``<out stem>.targets.pt``."""
    return Path(out).with_suffix(".targets.pt")


def check_targets_file(path: str | Path, target_seed: int | None) -> None:
    """Check an existing ``--targets`` file before any encoding (a missing one is drawn later).

    Args:
        path: the ``--targets`` file.
        target_seed: the ``--target-seed`` given on the command line (None: not given).

    Raises:
        ValueError: naming the file if it cannot be read (see :func:`read_stored_targets`) or was
            drawn with a seed other than ``target_seed``.
    """
    path = Path(path)
    if not path.exists():
        return
    stored = read_stored_targets(path)[1]
    if target_seed is not None and stored is not None and stored != target_seed:
        raise ValueError(
            f"{path}: target labels were drawn with seed {stored}, not --target-seed "
            f"{target_seed}; drop --target-seed or delete the file to redraw"
        )


def attack_targets(
    targets_file: str | Path | None,
    out: str | Path | None,
    query_labels: Tensor,
    db_labels: Tensor,
    target_seed: int | None = None,
) -> tuple[Tensor, dict[str, Any]]:
    """The target labels of every targeted attack of one command, and their provenance.

    Args:
        targets_file: ``--targets``: read if it exists, else drawn and stored there.
        out: ``--out``: without ``targets_file``, the draw is stored next to it (see
            :func:`stored_targets_path`); with neither, it stays in memory.
        query_labels: Q×C labels of the whole query split.
        db_labels: D×C database labels.
        target_seed: seed of the draw (None: 0).

    Returns:
        Q×C float targets, and the report entries ``target_seed`` (the seed of the draw;
        None for a stored ``.npy`` file, which does not record it) and ``targets_file``
        (the file they were read from or stored in, or None).

    Raises:
        ValueError: if a stored file cannot be read or does not match the query split.
    """
    seed = DEFAULT_TARGET_SEED if target_seed is None else target_seed
    used: int | None = seed
    if targets_file is not None:
        path: Path | None = Path(targets_file)
        # a stored draw wins; report the seed it records
        targets, used = load_or_draw_stored_targets(targets_file, query_labels, db_labels, seed)
    else:
        targets = draw_target_labels(query_labels, db_labels, seed=seed)
        path = None if out is None else stored_targets_path(out)
        if path is not None:
            save_targets(targets, path, seed)  # the format read_targets reads back
    return targets, {"target_seed": used, "targets_file": None if path is None else str(path)}
