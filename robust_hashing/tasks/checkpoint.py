"""Load a hash network from any task checkpoint (clean or defended)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from robust_hashing.errors import first_line
from robust_hashing.models import HashNet, create_hash_net


class CheckpointError(ValueError):
    """A file is not a readable robust_hashing task checkpoint (the message names it)."""


def read_checkpoint(checkpoint: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Load a Lightning checkpoint of a hashing task and check its two keys.

    Returns:
        The checkpoint dict; it has a ``state_dict`` and ``hyper_parameters["bits"]``.

    Raises:
        FileNotFoundError: if ``checkpoint`` does not exist.
        CheckpointError: naming the file if it cannot be unpickled (truncated, not a
            checkpoint at all) or lacks ``bits`` / ``state_dict``.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise CheckpointError(f"{path}: cannot read the checkpoint ({first_line(err)})") from err
    hp = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if not isinstance(hp, dict) or "bits" not in hp or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path}: not a robust_hashing task checkpoint (no bits / state_dict)"
        )
    return ckpt


def load_model_weights(model: nn.Module, ckpt: dict[str, Any], path: str | Path) -> None:
    """Copy the ``model.*`` weights of the task checkpoint ``ckpt`` (read from ``path``).

    Raises:
        CheckpointError: naming ``path`` if the weights do not fit ``model``.
    """
    state = {k[len("model.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the model ({first_line(err)})") from err


def load_hash_net(checkpoint: str | Path, map_location: str = "cpu") -> HashNet:
    """Rebuild the :class:`HashNet` stored in a Lightning checkpoint of any hashing task.

    Only the backbone name and the bit length are read from the hyper-parameters; the
    weights are the ``model.*`` entries of the state dict, so defense checkpoints load too.

    Raises:
        FileNotFoundError: if ``checkpoint`` does not exist.
        CheckpointError: (a ``ValueError``) naming the file if it is not a readable
            hashing-task checkpoint or its weights do not fit the stored backbone.
    """
    return hash_net_from(read_checkpoint(checkpoint, map_location), checkpoint)


def hash_net_from(ckpt: dict[str, Any], path: str | Path) -> HashNet:
    """:func:`load_hash_net` of a checkpoint already read (by :func:`read_checkpoint`)."""
    hp = ckpt["hyper_parameters"]
    try:
        model = create_hash_net(hp.get("backbone", "small_cnn"), int(hp["bits"]))
    except (KeyError, TypeError, ValueError) as err:
        reason = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise CheckpointError(f"{path}: cannot rebuild the stored model ({reason})") from err
    load_model_weights(model, ckpt, path)
    model.eval()
    return model
