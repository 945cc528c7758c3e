"""DPSH pairwise likelihood loss with quantisation penalty, and SAAT's normalisation variant."""

from __future__ import annotations

from torch import Tensor

from robust_hashing.losses.base import LOSSES, HashLoss, pairwise_likelihood
from robust_hashing.ops import sign


@LOSSES.register("dpsh")
class DPSHLoss(HashLoss):
    """θ_ij = ½u_iᵀU_j; L = mean ℓ_ij + η·mean((u − sgn u)²) (CgAT code, algorithms §2).

    Args:
        bits: code length K.
        num_train: number of training rows N.
        num_classes: number of classes C.
        eta: quantisation weight η (default 0.001).
    """

    def __init__(self, bits: int, num_train: int, num_classes: int, eta: float = 0.001) -> None:
        super().__init__(bits, num_train, num_classes)
        self.eta = eta

    def _terms(self, u: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        theta = 0.5 * (u @ self.U.to(u).t())
        likelihood = pairwise_likelihood(theta, self.similarity(labels).to(u))
        quantisation = (u - sign(u.detach())).pow(2)
        return likelihood, quantisation

    def compute(self, u: Tensor, labels: Tensor) -> Tensor:
        """Mean likelihood over the m×N block plus η times the mean quantisation error."""
        likelihood, quantisation = self._terms(u, labels)
        return likelihood.mean() + self.eta * quantisation.mean()


@LOSSES.register("dpsh_saat")
class DPSHSAATLoss(DPSHLoss):
    """SAAT's DPSH normalisation: L = (Σℓ_ij + η·Σ(u − sgn u)²)/(mN) with η = 50.

    Args:
        bits: code length K.
        num_train: number of training rows N.
        num_classes: number of classes C.
        eta: quantisation weight (default 50).
    """

    def __init__(self, bits: int, num_train: int, num_classes: int, eta: float = 50.0) -> None:
        super().__init__(bits, num_train, num_classes, eta=eta)

    def compute(self, u: Tensor, labels: Tensor) -> Tensor:
        """Summed likelihood plus η times the summed quantisation error, divided by mN."""
        likelihood, quantisation = self._terms(u, labels)
        return (likelihood.sum() + self.eta * quantisation.sum()) / likelihood.numel()
