"""Base class, bank handling and registry of the clean hashing losses L_hash (algorithms §2)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from robust_hashing.constants import LOSS_GROUP
from robust_hashing.ops import label_overlap
from robust_hashing.registry import Registry


class HashLoss(nn.Module):
    """A hashing loss on relaxed codes u = tanh(α·z) (m×K) and multi-hot labels (m×C).

    Bank-based losses (``uses_bank = True``) own two buffers indexed by training-list row:
    ``U`` (N×K continuous codes) and ``Y`` (N×C labels), both starting at zero.
    :meth:`forward` first writes ``U[index] ← u.detach()`` and ``Y[index] ← labels`` and then
    scores ``u`` against all N rows (algorithms §2). Subclasses implement :meth:`compute`.

    Args:
        bits: code length K.
        num_train: number of training rows N (bank height).
        num_classes: number of classes C.
    """

    uses_bank: ClassVar[bool] = True
    U: Tensor
    Y: Tensor

    def __init__(self, bits: int, num_train: int, num_classes: int) -> None:
        super().__init__()
        if bits <= 0 or num_train <= 0 or num_classes <= 0:
            raise ValueError(
                f"bits, num_train and num_classes must be positive, got {bits}, {num_train}, "
                f"{num_classes}"
            )
        self.bits = bits
        self.num_train = num_train
        self.num_classes = num_classes
        if self.uses_bank:
            self.register_buffer("U", torch.zeros(num_train, bits))
            self.register_buffer("Y", torch.zeros(num_train, num_classes))

    @torch.no_grad()
    def update_bank(self, u: Tensor, labels: Tensor, index: Tensor) -> None:
        """Write ``U[index] ← u.detach()`` and ``Y[index] ← labels`` (no-op without a bank)."""
        if not self.uses_bank:
            return
        index = index.to(self.U.device).long()
        self.U[index] = u.detach().to(self.U)
        self.Y[index] = labels.detach().to(self.Y)

    def forward(self, u: Tensor, labels: Tensor, index: Tensor) -> Tensor:
        """Update the bank with this batch, then return the scalar loss of ``u``.

        Args:
            u: relaxed codes in (−1, 1), m×K.
            labels: multi-hot labels, m×C.
            index: training-list rows of the batch, m.
        """
        self.update_bank(u, labels, index)
        return self.compute(u, labels)

    def compute(self, u: Tensor, labels: Tensor) -> Tensor:
        """Scalar loss of ``u`` against the current bank, without writing to it."""
        raise NotImplementedError

    @classmethod
    def unsupported_bits(cls, bits: int) -> str | None:
        """Why this loss cannot train ``bits``-bit codes, or None when it can (the default).

        The benchmark planner skips the cells of such a victim instead of failing at run time.
        """
        return None

    def train_scale(self, step: int) -> float:
        """Tanh scale α of u = tanh(α·z) at clean-training step ``step`` (global step, from 0).

        1 unless a loss has a scale schedule (HashNet overrides it). Only the clean training
        step uses this; validation, encoding and everything after clean training use α = 1.
        """
        return 1.0

    def similarity(self, labels: Tensor) -> Tensor:
        """s_ij = 1[y_iᵀY_j > 0] between batch labels and every bank row (m×N float)."""
        return label_overlap(labels.to(self.Y), self.Y)


LOSSES: Registry[type[HashLoss]] = Registry("loss", base=HashLoss, entry_point_group=LOSS_GROUP)
"""The hashing losses by name; a built-in registers with ``@LOSSES.register("name")``."""


def pairwise_likelihood(theta: Tensor, s: Tensor) -> Tensor:
    """ℓ = log(1 + e^{−|θ|}) + max(θ, 0) − s·θ, i.e. softplus(θ) − s·θ in a stable form."""
    return torch.log1p(torch.exp(-theta.abs())) + theta.clamp(min=0) - s * theta


def get_loss(name: str, *, bits: int, num_train: int, num_classes: int, **hp: Any) -> HashLoss:
    """Build the registered loss ``name`` (``hp`` are its hyper-parameters).

    Raises:
        KeyError: listing the known names if ``name`` is unknown.
    """
    return LOSSES.get(name)(bits=bits, num_train=num_train, num_classes=num_classes, **hp)


def list_losses(pattern: str | None = None) -> list[str]:
    """Registered loss names (fnmatch ``pattern`` optional)."""
    return LOSSES.list(pattern)
