"""The hash network shared by every method: backbone → linear K-bit layer → tanh(α·z)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from robust_hashing.models.backbones import get_backbone
from robust_hashing.ops import sign

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class HashNet(nn.Module):
    """Deep hashing network taking images in [0, 1] (normalisation happens inside).

    Args:
        backbone: feature extractor mapping normalised images to ``feature_dim`` features.
        feature_dim: width of the backbone output.
        bits: code length K.

    The hash layer is initialised N(0, 0.01²) with zero bias (algorithms §1).
    """

    mean: Tensor
    std: Tensor

    def __init__(self, backbone: nn.Module, feature_dim: int, bits: int) -> None:
        super().__init__()
        if bits <= 0:
            raise ValueError(f"bits must be positive, got {bits}")
        self.bits = bits
        self.backbone = backbone
        self.hash_layer = nn.Linear(feature_dim, bits)
        nn.init.normal_(self.hash_layer.weight, std=0.01)
        nn.init.zeros_(self.hash_layer.bias)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def logits(self, x: Tensor) -> Tensor:
        """Pre-activation outputs z(x) for images ``x`` in [0, 1]."""
        return self.hash_layer(self.backbone((x - self.mean) / self.std))

    def forward(self, x: Tensor, alpha: float = 1.0) -> tuple[Tensor, Tensor]:
        """Return ``(z, tanh(alpha * z))`` for images ``x`` in [0, 1]."""
        z = self.logits(x)
        return z, torch.tanh(alpha * z)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Binary ±1 codes sgn(z(x)) with sgn(0) = +1 (no gradient, current mode)."""
        return sign(self.logits(x))


def create_hash_net(
    backbone: str = "small_cnn", bits: int = 32, weights: str | None = None
) -> HashNet:
    """Build a :class:`HashNet` from a registered backbone name.

    Args:
        backbone: name in :data:`robust_hashing.models.BACKBONES`.
        bits: code length K.
        weights: optional local path of a torchvision-style ImageNet checkpoint for the
            backbone (nothing is ever downloaded).
    """
    features, dim = get_backbone(backbone, weights=weights)
    return HashNet(features, dim, bits)
