"""DPH: squared error between scaled inner products and ±1 similarities (SAAT default)."""

from __future__ import annotations

from torch import Tensor

from robust_hashing.losses.base import LOSSES, HashLoss


@LOSSES.register("dph")
class DPHLoss(HashLoss):
    """L = (1/(mN)) Σ_ij (u_iᵀU_j/K − S_ij)² with S_ij = 2s_ij − 1 (algorithms §2).

    Args:
        bits: code length K.
        num_train: number of training rows N.
        num_classes: number of classes C.
    """

    def compute(self, u: Tensor, labels: Tensor) -> Tensor:
        """Mean squared error over the m×N block against the current bank."""
        target = 2 * self.similarity(labels) - 1
        inner = u @ self.U.to(u).t() / self.bits
        return (inner - target).pow(2).mean()
