"""Load a hash network from any task checkpoint (clean or defended), running no code.

Checkpoints are read by :func:`~robust_hashing.tasks.safe_load.safe_torch_load`
(``torch.load(..., weights_only=True)``): one that stores any other Python object than
tensors, numbers, strings and containers is refused with one line naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from robust_hashing.models import HashNet, create_hash_net
from robust_hashing.tasks.safe_load import CheckpointError, safe_torch_load
from robust_hashing.tasks.weights import HASH_WEIGHT, load_model_weights

__all__ = [
    "CheckpointError",
    "check_same_victim",
    "hash_net_from",
    "load_hash_net",
    "load_model_weights",
    "read_checkpoint",
]


def read_checkpoint(checkpoint: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Load a Lightning checkpoint of a hashing task and check its two keys.

    Returns:
        The checkpoint dict; it has a ``state_dict`` and ``hyper_parameters["bits"]``.

    Raises:
        FileNotFoundError: if ``checkpoint`` does not exist.
        CheckpointError: naming the file if it stores objects whose loading could run
            code, cannot be read (truncated, not a checkpoint at all) or lacks ``bits`` /
            ``state_dict``.
    """
    path = Path(checkpoint)
    ckpt = safe_torch_load(path, map_location=map_location)
    hp = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if not isinstance(hp, dict) or "bits" not in hp or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path}: not a robust_hashing task checkpoint (no bits / state_dict)"
        )
    return ckpt


def load_hash_net(checkpoint: str | Path, map_location: str = "cpu") -> HashNet:
    """Rebuild the :class:`HashNet` stored in a Lightning checkpoint of any hashing task.

    Only the backbone name and the bit length are read from the hyper-parameters; the
    weights are the ``model.*`` entries of the state dict, so defense checkpoints load too.

    Raises:
        FileNotFoundError: if ``checkpoint`` does not exist.
        CheckpointError: (a ``ValueError``) naming the file if it is not a safely
            readable hashing-task checkpoint, its weights do not fit the stored backbone
            (what differs is named) or hold NaN or infinite values.
    """
    return hash_net_from(read_checkpoint(checkpoint, map_location), checkpoint)


def hash_net_from(ckpt: dict[str, Any], path: str | Path) -> HashNet:
    """:func:`load_hash_net` of a checkpoint already read (by :func:`read_checkpoint`)."""
    hp = ckpt["hyper_parameters"]
    backbone = hp.get("backbone", "small_cnn")
    try:
        model = create_hash_net(backbone, int(hp["bits"]))
    except (KeyError, TypeError, ValueError) as err:
        reason = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise CheckpointError(f"{path}: cannot rebuild the stored model ({reason})") from err
    load_model_weights(model, ckpt, path, backbone=str(backbone))
    model.eval()
    return model


def stored_victim(ckpt: Mapping[str, Any]) -> dict[str, Any]:
    """Backbone, bits, loss and class count of a task checkpoint, as far as it tells.

    The hyper-parameters are read first; bits and the class count missing there are
    taken from the shapes of the hash layer and of a label bank (``Y`` / ``hash_loss.Y``).
    """
    hp = ckpt.get("hyper_parameters", {})
    out = {k: hp[k] for k in ("backbone", "bits", "loss", "num_classes") if k in hp}
    state = ckpt.get("state_dict", {})
    weight = state.get(f"model.{HASH_WEIGHT}")
    if "bits" not in out and weight is not None:
        out["bits"] = int(weight.shape[0])
    for bank in ("Y", "hash_loss.Y"):
        if "num_classes" not in out and getattr(state.get(bank), "ndim", 0) == 2:
            out["num_classes"] = int(state[bank].shape[1])
    return out


_DIFFERS = {
    "backbone": "the checkpoint's backbone is {stored!r}, this task's {wanted!r}",
    "bits": "the checkpoint's codes have {stored} bits, this task's {wanted}",
    "loss": "the checkpoint was trained with loss {stored!r}, this task uses {wanted!r}",
    "num_classes": "the checkpoint's model was trained on {stored} classes, "
    "this task's data has {wanted}",
}


def check_same_victim(ckpt: Mapping[str, Any], wanted: Mapping[str, Any], path: str | Path) -> None:
    """Refuse a clean checkpoint of another victim than the task fine-tuning it.

    Raises:
        CheckpointError: naming ``path`` and the first of backbone, code length, loss and
            class count that differs from ``wanted``.
    """
    stored = stored_victim(ckpt)
    for key, text in _DIFFERS.items():
        if key in stored and key in wanted and stored[key] != wanted[key]:
            message = text.format(stored=stored[key], wanted=wanted[key])
            raise CheckpointError(f"{path}: {message}")
