"""Load a hash network from any task checkpoint (clean or defended)."""

from __future__ import annotations

from pathlib import Path

import torch

from robust_hashing.models import HashNet, create_hash_net


def load_hash_net(checkpoint: str | Path, map_location: str = "cpu") -> HashNet:
    """Rebuild the :class:`HashNet` stored in a Lightning checkpoint of any hashing task.

    Only the backbone name and the bit length are read from the hyper-parameters; the
    weights are the ``model.*`` entries of the state dict, so defense checkpoints load too.

    Raises:
        FileNotFoundError: if ``checkpoint`` does not exist.
        ValueError: naming the file if it is not a hashing-task checkpoint.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    ckpt = torch.load(path, map_location=map_location, weights_only=False)
    hp = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if "bits" not in hp or "state_dict" not in ckpt:
        raise ValueError(f"{path}: not a robust_hashing task checkpoint (no bits / state_dict)")
    model = create_hash_net(hp.get("backbone", "small_cnn"), int(hp["bits"]))
    state = {k[len("model.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state)
    model.eval()
    return model
