"""Small tensor operations shared by every component: sign codes, Hamming distance, α schedules."""

from __future__ import annotations

import torch
from torch import Tensor


def sign(x: Tensor) -> Tensor:
    """Binary code of ``x``: +1 where ``x >= 0`` and -1 elsewhere (sgn(0) = +1, spec §0).

    The result has the dtype of ``x`` (float tensors stay float).
    """
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def hamming_distance(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise Hamming distances between ±1 code matrices ``a`` (n×K) and ``b`` (m×K).

    Computed as (K − a bᵀ)/2 and returned as an n×m float tensor of integers.
    """
    k = a.shape[1]
    return 0.5 * (k - a.float() @ b.float().t())


def anneal_a10(t: int, total: int) -> float:
    """Tanh scale α at iteration ``t`` of ``total`` under the A10 schedule (algorithms §0).

    Iteration t falls in segment ⌊10t/T⌋; segments 0–4 use 0.1, then 0.2, 0.3, 0.5, 0.7, 1.0.
    """
    if total <= 0:
        raise ValueError(f"total iterations must be positive, got {total}")
    segment = min(9, (10 * t) // total)
    return (0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)[segment]


def label_overlap(a: Tensor, b: Tensor) -> Tensor:
    """Relevance matrix 1[aᵀb > 0] between multi-hot label matrices (n×C, m×C), as float."""
    return (a.float() @ b.float().t() > 0).float()
