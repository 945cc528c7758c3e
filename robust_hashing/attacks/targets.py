"""The target-label rule shared by every targeted attack (algorithms §5.1, protocol §7.6).

For each query, y_t is drawn uniformly among the unique non-zero database label vectors
with **zero overlap** with the query's label (if none exists, among those with the least
overlap, ours). The draw uses a fixed seed, happens once per dataset, and is stored so
that every attack, defense and code length uses the same targets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from robust_hashing.attacks.base import unique_target_pool
from robust_hashing.errors import first_line
from robust_hashing.io import atomic_path


def draw_target_labels(query_labels: Tensor, db_labels: Tensor, seed: int = 0) -> Tensor:
    """Draw one target label per query.

    Args:
        query_labels: Q×C multi-hot query labels.
        db_labels: D×C multi-hot database labels.
        seed: seed of the draw.

    Returns:
        Q×C float target labels (CPU), each a non-zero database label vector.
    """
    pool = unique_target_pool(db_labels.cpu())
    if len(pool) == 0:
        raise ValueError("the database has no non-zero label vector to target")
    overlap = query_labels.float().cpu() @ pool.t()  # Q×P shared labels
    eligible = overlap == overlap.min(dim=1, keepdim=True).values
    gen = torch.Generator().manual_seed(seed)
    keys = torch.rand(eligible.shape, generator=gen) + eligible.float()  # eligible ones win
    return pool[keys.argmax(dim=1)]


def save_targets(targets: Tensor, path: str | Path, seed: int) -> None:
    """Store drawn targets atomically: ``.npy`` (the array) or ``.pt`` (targets and seed).

    :func:`read_targets` reads either back.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, targets.numpy().astype(np.float32))
        else:
            torch.save({"targets": targets, "seed": seed}, tmp)


def read_stored_targets(path: str | Path) -> tuple[Tensor, int | None]:
    """Load stored target labels and the seed they were drawn with.

    Reads a ``.npy`` array (no seed: None) or a ``.pt`` dict with a ``targets`` entry and,
    as :func:`save_targets` writes it, an integer ``seed`` (None if absent).

    Raises:
        ValueError: naming the file if it cannot be read or holds no 2-D target matrix.
    """
    path = Path(path)
    try:
        if path.suffix == ".npy":
            targets = torch.from_numpy(np.load(path, allow_pickle=False))
        else:
            targets = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # numpy / torch raise many kinds on a corrupt file
        raise ValueError(f"{path}: cannot read stored target labels ({first_line(err)})") from err
    seed = None
    if isinstance(targets, dict):
        if "targets" not in targets:
            raise ValueError(f"{path}: no 'targets' entry in the stored target labels")
        stored_seed = targets.get("seed")
        if isinstance(stored_seed, int) and not isinstance(stored_seed, bool):
            seed = stored_seed
        targets = targets["targets"]
    if not isinstance(targets, Tensor) or targets.ndim != 2:
        raise ValueError(f"{path}: stored target labels are not a 2-D matrix")
    return targets.float(), seed


def read_targets(path: str | Path) -> Tensor:
    """Load stored target labels (see :func:`read_stored_targets`).

    Raises:
        ValueError: naming the file if it cannot be read or holds no 2-D target matrix.
    """
    return read_stored_targets(path)[0]


def load_or_draw_targets(
    path: str | Path, query_labels: Tensor, db_labels: Tensor, seed: int = 0
) -> Tensor:
    """Load the stored target labels of a dataset, or draw and store them (once).

    Args:
        path: ``.pt`` (targets and seed) or ``.npy`` (targets only) file.
        query_labels: Q×C query labels.
        db_labels: D×C database labels.
        seed: seed used when drawing.

    Returns:
        Q×C float target labels (CPU).

    Raises:
        ValueError: if the stored file cannot be read (see :func:`read_targets`) or its
            targets do not match the number of queries or classes.
    """
    return load_or_draw_stored_targets(path, query_labels, db_labels, seed)[0]


def load_or_draw_stored_targets(
    path: str | Path, query_labels: Tensor, db_labels: Tensor, seed: int = 0
) -> tuple[Tensor, int | None]:
    """:func:`load_or_draw_targets`, also returning the seed of the draw.

    The seed is ``seed`` for a fresh draw, and what the file records for a stored one (None
    for a ``.npy`` file, which records none). The file is read once.
    """
    path = Path(path)
    if path.exists():
        targets, stored_seed = read_stored_targets(path)
        if targets.shape != query_labels.shape:
            raise ValueError(
                f"stored targets {path} have shape {tuple(targets.shape)}, "
                f"expected {tuple(query_labels.shape)}; delete the file to redraw"
            )
        return targets, stored_seed
    targets = draw_target_labels(query_labels, db_labels, seed=seed)
    save_targets(targets, path, seed)
    return targets, seed
