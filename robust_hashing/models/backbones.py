"""Backbone registry and the small CNNs used on the embedded data and in tests.

A backbone factory takes ``weights: str | None`` and returns ``(module, feature_dim)``;
the module maps ImageNet-normalised images to a flat feature vector. The ImageNet
architectures live in their own files and register themselves here; the package
``__init__`` imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from robust_hashing.constants import BACKBONE_GROUP
from robust_hashing.registry import Registry

BackboneFactory = Callable[..., tuple[nn.Module, int]]
BACKBONES: Registry[BackboneFactory] = Registry("backbone", entry_point_group=BACKBONE_GROUP)
"""The backbone factories by name; one registers with ``@BACKBONES.register("name")``."""


def get_backbone(name: str, weights: str | None = None) -> tuple[nn.Module, int]:
    """Build backbone ``name``; ``weights`` is an optional local checkpoint path."""
    return BACKBONES.get(name)(weights=weights)


def list_backbones(pattern: str | None = None) -> list[str]:
    """Registered backbone names (fnmatch ``pattern`` optional)."""
    return BACKBONES.list(pattern)


def load_local_weights(
    module: nn.Module, weights: str | None, *, skip: tuple[str, ...] = ()
) -> None:
    """Load a torchvision-keyed state dict from a local file into ``module``.

    Keys starting with any prefix in ``skip`` (e.g. the ImageNet classifier) are ignored.

    Raises:
        FileNotFoundError: naming the path if it does not exist.
        ValueError: naming the path if it cannot be read safely (see
            :func:`~robust_hashing.tasks.safe_load.safe_torch_load`) or the first missing
            key if the checkpoint does not fit.
    """
    if weights is None:
        return
    from robust_hashing.tasks.safe_load import safe_torch_load  # tasks import the models

    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights not found: {path}")
    state = safe_torch_load(path)  # refuses, in one line, a file whose loading runs code
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k: v for k, v in state.items() if not k.startswith(skip)}
    missing, _unexpected = module.load_state_dict(state, strict=False)
    if missing:
        raise ValueError(
            f"{path}: checkpoint lacks {len(missing)} backbone keys, e.g. {missing[0]!r}"
        )


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


@BACKBONES.register("small_cnn")
def small_cnn(weights: str | None = None) -> tuple[nn.Module, int]:
    """Four conv blocks (16-32-64-128) with pooling, global average pool, BatchNorm → 128.

    Default for the embedded 64×64 data; trains from scratch on a 2-core CPU in minutes.
    The final BatchNorm centres the pooled (all-positive) features: without it every image
    starts with nearly the same code and pairwise hashing losses barely move.
    """
    net = nn.Sequential(
        _conv_block(3, 16),
        nn.MaxPool2d(2),
        _conv_block(16, 32),
        nn.MaxPool2d(2),
        _conv_block(32, 64),
        nn.MaxPool2d(2),
        _conv_block(64, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.BatchNorm1d(128),
    )
    load_local_weights(net, weights)
    return net, 128


@BACKBONES.register("test_cnn")
def test_cnn(weights: str | None = None) -> tuple[nn.Module, int]:
    """Two-conv toy backbone (16 features) for unit tests."""
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    load_local_weights(net, weights)
    return net, 16
