"""Shared checks for the ImageNet backbones: torchvision-style checkpoints on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from robust_hashing.models import create_hash_net, get_backbone

HEADS = {"alexnet": "classifier.6", "vgg11": "classifier.6", "resnet18": "fc"}


def _fake_torchvision_checkpoint(name: str, path: Path, drop: str | None = None) -> dict:
    """Save a random backbone state dict plus an ImageNet head, like torchvision's files."""
    module, dim = get_backbone(name)
    # shift every entry so that the loaded values differ from any fresh initialisation
    state = {k: v.add_(1) for k, v in module.state_dict().items()}
    state[f"{HEADS[name]}.weight"] = torch.zeros(1000, dim)
    state[f"{HEADS[name]}.bias"] = torch.zeros(1000)
    if drop is not None:
        del state[drop]
    torch.save(state, path)
    return state


@pytest.fixture
def check_roundtrip(tmp_path: Path) -> Callable[[str], None]:
    """Return a check that a saved torchvision-keyed state dict loads via create_hash_net."""

    def check(name: str) -> None:
        path = tmp_path / f"{name}.pth"
        state = _fake_torchvision_checkpoint(name, path)
        net = create_hash_net(name, 16, weights=str(path))
        loaded = net.backbone.state_dict()
        assert set(loaded) == {k for k in state if not k.startswith(HEADS[name] + ".")}
        mismatched = [k for k, v in loaded.items() if not torch.equal(v, state[k])]
        assert not mismatched, f"values differ after loading: {mismatched[:3]}"
        assert net.bits == 16

    return check


@pytest.fixture
def check_missing_key(tmp_path: Path) -> Callable[[str, str], None]:
    """Return a check that a checkpoint lacking ``key`` raises a ValueError naming it."""

    def check(name: str, key: str) -> None:
        path = tmp_path / f"{name}_broken.pth"
        _fake_torchvision_checkpoint(name, path, drop=key)
        with pytest.raises(ValueError, match=key.replace(".", r"\.")):
            create_hash_net(name, 16, weights=str(path))

    return check
