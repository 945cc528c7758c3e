"""CSQ: central similarity quantisation towards Hadamard hash centers (no bank)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from robust_hashing.losses.base import LOSSES, HashLoss
from robust_hashing.ops import sign


def _power_of_two(n: int) -> bool:
    return n > 0 and not n & (n - 1)


def _bits_problem(bits: int) -> str | None:
    """Why CSQ cannot use ``bits``-bit codes (no Hadamard centres), or None."""
    if _power_of_two(bits):
        return None
    return f"CSQ needs a power-of-2 code length for its Hadamard centers, got K={bits}"


def hadamard(order: int) -> Tensor:
    """Sylvester Hadamard matrix H_n (n a power of 2): H_1 = [1], H_2n = [[H, H], [H, −H]].

    Raises:
        ValueError: if ``order`` is not a positive power of 2.
    """
    if not _power_of_two(order):
        raise ValueError(f"Hadamard order must be a power of 2, got {order}")
    h = torch.ones(1, 1)
    while h.shape[0] < order:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def hash_centers(bits: int, num_classes: int, seed: int = 0) -> Tensor:
    """Class centers: the first C rows of [H_K; −H_K], or seeded random ±1 rows if C > 2K.

    Raises:
        ValueError: if ``bits`` is not a power of 2 (CSQ cells at such K are skipped).
    """
    problem = _bits_problem(bits)
    if problem is not None:
        raise ValueError(f"{problem}; use 16, 32 or 64 bits")
    if num_classes <= 2 * bits:
        h = hadamard(bits)
        return torch.cat([h, -h], 0)[:num_classes].clone()
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (num_classes, bits), generator=gen).float() * 2 - 1


@LOSSES.register("csq")
class CSQLoss(HashLoss):
    """BCE((u+1)/2, (c(y)+1)/2) over bits + λ_q·mean((|u| − 1)²) (algorithms §2).

    The target of a multi-label row is c(y) = sgn(Σ_{k: y_k=1} center_k); bits whose sum is
    zero (including every bit of an all-zero label row) take the value of a fixed seeded ±1
    vector.

    Args:
        bits: code length K, a power of 2.
        num_train: number of training rows N (unused: CSQ has no bank).
        num_classes: number of classes C.
        lambda_q: quantisation weight λ_q (default 1e-4, CgAT; SAAT uses 0.05).
        seed: seed of the random centers (C > 2K) and of the zero-bit fill vector.

    Raises:
        ValueError: if ``bits`` is not a power of 2.
    """

    uses_bank = False
    centers: Tensor
    zero_fill: Tensor

    @classmethod
    def unsupported_bits(cls, bits: int) -> str | None:
        """A reason unless ``bits`` is a power of 2 (algorithms §2: 48-bit CSQ is skipped)."""
        problem = _bits_problem(bits)
        return None if problem is None else f"{problem} (algorithms §2: such CSQ cells are skipped)"

    def __init__(
        self,
        bits: int,
        num_train: int,
        num_classes: int,
        lambda_q: float = 1e-4,
        seed: int = 0,
    ) -> None:
        super().__init__(bits, num_train, num_classes)
        self.lambda_q = lambda_q
        self.register_buffer("centers", hash_centers(bits, num_classes, seed), persistent=False)
        gen = torch.Generator().manual_seed(seed + 1)
        fill = torch.randint(0, 2, (bits,), generator=gen).float() * 2 - 1
        self.register_buffer("zero_fill", fill, persistent=False)

    def targets(self, labels: Tensor) -> Tensor:
        """±1 target code c(y) of each label row (m×K)."""
        total = labels.to(self.centers) @ self.centers
        return torch.where(total == 0, self.zero_fill.expand_as(total), sign(total))

    def compute(self, u: Tensor, labels: Tensor) -> Tensor:
        """Mean BCE to the center targets plus λ_q times the mean quantisation error."""
        target = (self.targets(labels).to(u) + 1) / 2
        center_loss = F.binary_cross_entropy((u + 1) / 2, target)
        quantisation = (u.abs() - 1).pow(2).mean()
        return center_loss + self.lambda_q * quantisation
