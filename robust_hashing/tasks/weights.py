"""Copy the hash-network weights of a task checkpoint, saying what is wrong when they do not fit.

A checkpoint of another backbone, another code length or another class count, one with
missing or unexpected keys, and one whose training diverged (NaN or infinite weights) are
each refused with a one-line :class:`~robust_hashing.tasks.safe_load.CheckpointError` that
names the file and the difference, with the first few keys concerned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from robust_hashing.errors import first_line
from robust_hashing.tasks.safe_load import CheckpointError

SHOWN = 3
"""How many keys a message names before ``(+N more)``."""

HASH_WEIGHT = "hash_layer.weight"


def model_state(ckpt: Mapping[str, Any]) -> dict[str, Tensor]:
    """The ``model.*`` entries of a task checkpoint's state dict, without the prefix."""
    state = ckpt.get("state_dict", {})
    return {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}


def load_model_weights(
    model: nn.Module, ckpt: Mapping[str, Any], path: str | Path, backbone: str | None = None
) -> None:
    """Copy the ``model.*`` weights of the task checkpoint ``ckpt`` (read from ``path``).

    Args:
        model: the hash network to fill.
        ckpt: the checkpoint dict (see :func:`~robust_hashing.tasks.checkpoint.read_checkpoint`).
        path: the file it was read from, named in errors.
        backbone: the backbone name of ``model``, named when the weights are of another one.

    Raises:
        CheckpointError: naming ``path`` and what differs (code length, backbone, missing /
            unexpected keys, shapes) or the tensors holding NaN or infinite values.
    """
    state = model_state(ckpt)
    if not state:
        raise CheckpointError(f"{path}: holds no hash-network weights (no model.* entries)")
    reason = weights_mismatch(model.state_dict(), state, backbone)
    if reason is not None:
        raise CheckpointError(f"{path}: the weights do not fit the model: {reason}")
    check_finite(state, path)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:  # e.g. a dtype that cannot be copied
        raise CheckpointError(f"{path}: weights do not fit the model ({first_line(err)})") from err


def weights_mismatch(
    own: Mapping[str, Tensor], stored: Mapping[str, Tensor], backbone: str | None = None
) -> str | None:
    """Why ``stored`` weights do not fit a network whose state dict is ``own`` (None: they do).

    Example:
        >>> own = {"hash_layer.weight": torch.zeros(32, 8), "backbone.0.weight": torch.zeros(8)}
        >>> weights_mismatch(own, {**own, "hash_layer.weight": torch.zeros(48, 8)})
        'the stored codes have 48 bits, this model 32'
        >>> weights_mismatch(own, {"hash_layer.weight": torch.zeros(32, 8)})
        "missing keys 'backbone.0.weight'"
    """
    missing = [k for k in own if k not in stored]
    unexpected = [k for k in stored if k not in own]
    shapes = [k for k in own if k in stored and own[k].shape != stored[k].shape]
    if not (missing or unexpected or shapes):
        return None
    if HASH_WEIGHT in shapes and own[HASH_WEIGHT].shape[0] != stored[HASH_WEIGHT].shape[0]:
        return f"the stored codes have {stored[HASH_WEIGHT].shape[0]} bits, this model {own[HASH_WEIGHT].shape[0]}"
    keys = _describe(missing, unexpected, shapes, own, stored)
    if _other_backbone(missing, unexpected, shapes):
        name = f" {backbone!r}" if backbone else ""
        return f"they are of another backbone than this model's{name} ({keys})"
    return keys


def _other_backbone(
    missing: Sequence[str], unexpected: Sequence[str], shapes: Sequence[str]
) -> bool:
    """Whether the differences point to another feature extractor, not a few stray keys.

    So it is when the hash layer's input width differs, a backbone tensor has another
    shape, or backbone keys are both missing and unexpected (other layer names).
    """
    if HASH_WEIGHT in shapes or any(k.startswith("backbone.") for k in shapes):
        return True
    return any(k.startswith("backbone.") for k in missing) and any(
        k.startswith("backbone.") for k in unexpected
    )


def _names(keys: Sequence[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:SHOWN])
    return shown + (f" (+{len(keys) - SHOWN} more)" if len(keys) > SHOWN else "")


def _describe(
    missing: Sequence[str],
    unexpected: Sequence[str],
    shapes: Sequence[str],
    own: Mapping[str, Tensor],
    stored: Mapping[str, Tensor],
) -> str:
    """``missing keys …; unexpected keys …; shape of 'k' is [a] stored, [b] here``."""
    parts = []
    if missing:
        parts.append(f"missing keys {_names(missing)}")
    if unexpected:
        parts.append(f"unexpected keys {_names(unexpected)}")
    for k in shapes[:SHOWN]:
        parts.append(f"shape of {k!r} is {list(stored[k].shape)} stored, {list(own[k].shape)} here")
    if len(shapes) > SHOWN:
        parts.append(f"(+{len(shapes) - SHOWN} more shapes differ)")
    return "; ".join(parts)


def non_finite(state: Mapping[str, Any]) -> list[str]:
    """Names of the floating-point tensors of ``state`` holding a NaN or an infinity."""
    return [
        k
        for k, v in state.items()
        if isinstance(v, Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]


def check_finite(state: Mapping[str, Any], path: str | Path) -> None:
    """Refuse weights with NaN or infinite values (a diverged training).

    Raises:
        CheckpointError: naming ``path`` and the first tensors concerned.
    """
    bad = non_finite(state)
    if bad:
        raise CheckpointError(
            f"{path}: {len(bad)} of {len(state)} weight tensors hold NaN or infinite values "
            f"({_names(bad)}): its training diverged"
        )
