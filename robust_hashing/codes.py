"""Semantic guide codes in closed form (algorithms §3), vectorised over the batch.

Each guide code minimises Σ_P w_p·D_H(b, b_j) − Σ_N w_n·D_H(b, b_j) over b ∈ {±1}^K.
Since D_H(b, b_j) = (K − bᵀb_j)/2, the minimiser is b* = sgn(v) with
v = (W_p − W_n)·B: two matrix products for a whole batch, no iterations.

Conventions (spec): sgn(0) = +1; an empty positive or negative set contributes 0;
an all-zero label row has no positives (every bank row is then a negative).
"""

from __future__ import annotations

import torch
from torch import Tensor

from robust_hashing.ops import sign


def _guide(w_pos: Tensor, w_neg: Tensor, bank_codes: Tensor) -> Tensor:
    # float64 and a tolerance so that an exact tie (v = 0) gives +1 as sgn(0) = +1 demands,
    # instead of a rounding-error sign.
    v = (w_pos.double() - w_neg.double()) @ bank_codes.double()
    v = torch.where(v.abs() < 1e-9, torch.zeros_like(v), v)
    return sign(v).to(bank_codes.dtype if bank_codes.is_floating_point() else torch.float32)


def _row_normalise(w: Tensor) -> Tensor:
    total = w.sum(dim=1, keepdim=True)
    return torch.where(total > 0, w / total.clamp_min(1e-12), torch.zeros_like(w))


def center_codes(
    labels: Tensor, bank_codes: Tensor, bank_labels: Tensor, *, jaccard: bool = False
) -> Tensor:
    """CgAT center codes b̂(y) = sgn(mean_P b_j − mean_N b_j).

    Args:
        labels: m×C multi-hot labels of the samples whose guide codes are wanted.
        bank_codes: N×K ±1 codes of the training bank (the attacked model's).
        bank_labels: N×C multi-hot labels of the bank.
        jaccard: weight positives by Jaccard similarity (ablation flag; default indicator).

    Returns:
        m×K float tensor of ±1 codes.
    """
    y, by = labels.float(), bank_labels.float()
    inter = y @ by.t()
    pos = (inter > 0).float()
    if jaccard:
        union = y.sum(1, keepdim=True) + by.sum(1).unsqueeze(0) - inter
        pos = pos * inter / union.clamp_min(1e-12)
    return _guide(_row_normalise(pos), _row_normalise((inter <= 0).float()), bank_codes)


def mainstay_codes(labels: Tensor, bank_codes: Tensor, bank_labels: Tensor) -> Tensor:
    """SAAT mainstay codes b′(y) (DMFL): cosine-weighted positives, uniform negatives.

    w_p ∝ cos(y, y_j) over positives, w_n = 1/|N|, cos = yᵀy′/(‖y‖‖y′‖ + 1e-8).
    Arguments and return as in :func:`center_codes`.
    """
    y, by = labels.float(), bank_labels.float()
    inter = y @ by.t()
    cos = inter / (y.norm(dim=1, keepdim=True) * by.norm(dim=1).unsqueeze(0) + 1e-8)
    pos = (inter > 0).float()
    return _guide(_row_normalise(pos * cos), _row_normalise((inter <= 0).float()), bank_codes)


def anchor_codes(
    target_labels: Tensor,
    db_codes: Tensor,
    db_labels: Tensor,
    n_t: int,
    generator: torch.Generator | None = None,
    *,
    replace: bool = False,
) -> Tensor:
    """DHTA/P2P anchor codes: component-wise vote a = sgn Σ b_i over ``n_t`` database codes.

    The candidates are the database rows whose label **equals** the target label or, if
    none does, the rows with the largest label overlap (spec §5.4 and §5.1, ours). The n_t
    items are drawn among them, seeded by ``generator``:

    * ``replace=False`` (default): without replacement; if fewer than n_t candidates exist,
      all are used (DHTA-master);
    * ``replace=True``: n_t uniform draws with replacement; a row drawn k times votes k
      times, and n_t codes vote even when fewer candidates exist (SAAT's port).

    Args:
        target_labels: m×C target labels.
        db_codes: D×K ±1 database codes of the attacked model.
        db_labels: D×C database labels.
        n_t: number of codes voted (1 = P2P, 9 = DHTA).
        generator: torch generator for the draws (CPU).
        replace: draw with replacement.

    Returns:
        m×K ±1 float codes (sgn(0) = +1).
    """
    if n_t < 1:
        raise ValueError(f"n_t must be >= 1, got {n_t}")
    t, dl = target_labels.float().cpu(), db_labels.float().cpu()
    equal = (t.unsqueeze(1) == dl.unsqueeze(0)).all(dim=2)  # m×D
    overlap = t @ dl.t()
    best = overlap == overlap.max(dim=1, keepdim=True).values
    candidates = torch.where(equal.any(dim=1, keepdim=True), equal, best).float()
    if replace:
        drawn = torch.multinomial(candidates, n_t, replacement=True, generator=generator)
        votes = torch.zeros_like(candidates).scatter_add_(1, drawn, torch.ones(drawn.shape))
    else:
        # Random keys; non-candidates sink to the bottom; take the n_t highest-keyed ones.
        keys = torch.rand(candidates.shape, generator=generator) + candidates * 2.0
        top = keys.topk(min(n_t, keys.shape[1]), dim=1).indices
        votes = torch.zeros_like(candidates).scatter_(1, top, 1.0) * candidates
    return sign(votes.to(db_codes.device) @ db_codes.float())
