"""Distances, collapseness and the CAP/ANP objectives of COLO-TRIDE-H (algorithms §4.4–4.5).

Pure functions on relaxed codes h₁ (rows in [−1, 1]^K), plus :func:`full_eval`, the
network mode of the inner loops and of the miner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


def relaxed_hamming(u: Tensor, v: Tensor) -> Tensor:
    """Row-wise normalised relaxed Hamming distance (K − uᵀv)/(2K) ∈ [0, 1]."""
    k = u.shape[1]
    return (k - (u * v).sum(1)) / (2 * k)


def weighted_mean(d: Tensor, lam: float) -> Tensor:
    """WM_λ(d) = Σ softmax(λd)_i·d_i (stable: the softmax subtracts max d)."""
    return (torch.softmax(lam * d, 0) * d).sum()


def low_half(d: Tensor) -> Tensor:
    """Mean of the ⌊n/2⌋ smallest entries (at least one) of a vector; differentiable."""
    return d.sort().values[: max(1, len(d) // 2)].mean()


def collapseness(d_ap: Tensor, d_an: Tensor, lam: float) -> Tensor:
    """Collapseness c = WM_λ(d_ap) − WM_λ(d_an); c ≥ 0 means the batch has collapsed."""
    return weighted_mean(d_ap, lam) - weighted_mean(d_an, lam)


def cap_loss(h_pos: Tensor, h_neg: Tensor, h_anc: Tensor, lam: float) -> Tensor:
    """CAP objective ReLU(−c) on perturbed positives/negatives and clean anchors."""
    c = collapseness(relaxed_hamming(h_anc, h_pos), relaxed_hamming(h_anc, h_neg), lam)
    return torch.relu(-c)


def anp_threshold(h_anc: Tensor, h_neg: Tensor) -> Tensor:
    """T: mean of the ⌊n/2⌋ smallest d(ã_i, n_i), from the *perturbed* anchors, with gradient.

    As the official ``pnp.py``, T is recomputed at every inner iteration; its gradient
    pulls each perturbed anchor toward its nearest negatives.
    """
    return low_half(relaxed_hamming(h_anc, h_neg))


def anp_loss(h_anc: Tensor, h_pos: Tensor, h_neg: Tensor, h_ref: Tensor, lam: float) -> Tensor:
    """ANP objective ReLU(c) + γ·ReLU(T − mean_i d(ã_i, a_i)), γ = exp(−ReLU(−c)) detached.

    Args:
        h_anc: relaxed codes of the perturbed anchors ã (the variable).
        h_pos: relaxed codes of the clean positives.
        h_neg: relaxed codes of the mined clean negatives.
        h_ref: relaxed codes of the clean anchors a.
        lam: softmax temperature λ of the weighted means.
    """
    c = collapseness(relaxed_hamming(h_anc, h_pos), relaxed_hamming(h_anc, h_neg), lam)
    gamma = torch.exp(-torch.relu(-c.detach()))
    shift = relaxed_hamming(h_anc, h_ref).mean()
    return torch.relu(c) + gamma * torch.relu(anp_threshold(h_anc, h_neg) - shift)


@contextmanager
def full_eval(model: nn.Module) -> Iterator[None]:
    """Every module of ``model`` in eval mode (BatchNorm and dropout); modes restored after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.train(mode)
