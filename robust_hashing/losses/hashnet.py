"""HashNet: class-balanced pairwise likelihood loss (SAAT code), with its tanh-scale schedule."""

from __future__ import annotations

from torch import Tensor

from robust_hashing.losses.base import LOSSES, HashLoss, pairwise_likelihood


@LOSSES.register("hashnet")
class HashNetLoss(HashLoss):
    """Weighted pairwise likelihood, θ_ij = (10/K)·u_iᵀU_j (algorithms §2).

    Similar pairs are weighted (n₁+n₀)/n₁ and dissimilar pairs (n₁+n₀)/n₀, where n₁ and n₀
    count the similar and dissimilar pairs in the m×N block; L = mean(w·ℓ).

    The loss does **not** apply HashNet's tanh-scale schedule itself: it reports it through
    :meth:`train_scale`, and the clean training task computes u = tanh(scale·z) with
    ``scale = train_scale(global_step)``; validation, encoding and everything after clean
    training use scale 1 (algorithms §2, "then reset to 1").

    Args:
        bits: code length K.
        num_train: number of training rows N.
        num_classes: number of classes C.
        sim_scale: factor of u_iᵀU_j in θ; ``None`` means 10/K (SAAT); CgAT uses 0.1.
    """

    def __init__(
        self, bits: int, num_train: int, num_classes: int, sim_scale: float | None = None
    ) -> None:
        super().__init__(bits, num_train, num_classes)
        self.sim_scale = 10.0 / bits if sim_scale is None else sim_scale

    @staticmethod
    def tanh_scale(
        iteration: int, *, gamma: float = 0.005, power: float = 0.5, step: int = 200
    ) -> float:
        """HashNet's tanh scale (1 + γ·t)^p, with t refreshed every ``step`` iterations."""
        refreshed = (iteration // step) * step
        return float((1.0 + gamma * refreshed) ** power)

    def train_scale(self, step: int) -> float:
        """The clean-training tanh scale at global step ``step``: :meth:`tanh_scale`."""
        return self.tanh_scale(step)

    def compute(self, u: Tensor, labels: Tensor) -> Tensor:
        """Class-balanced mean pairwise likelihood against the current bank."""
        s = self.similarity(labels).to(u)
        theta = self.sim_scale * (u @ self.U.to(u).t())
        loss = pairwise_likelihood(theta, s)
        n_pos = s.sum()
        n_neg = s.numel() - n_pos
        total = float(s.numel())
        weights = s * (total / n_pos.clamp(min=1)) + (1 - s) * (total / n_neg.clamp(min=1))
        return (weights * loss).mean()
