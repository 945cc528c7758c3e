"""Attack metrics: perceptibility of perturbations, attack success rates, bit-flip rate.

Definitions follow protocol §5 ("Perceptibility", "Attack success rate (ours)"). Success
rates rank the database exactly as the retrieval metrics do (stable Hamming ranking).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from robust_hashing.metrics.retrieval import ranked_relevance


class PerceptibilityMeter:
    """Accumulate per-image perturbation sizes batch by batch.

    Per image, with δ = x′ − x in [0, 1] units over all C×H×W values: L∞ = max|δ|,
    L2 = ‖δ‖₂ (plain vector norm) and MSE = mean δ². :meth:`compute` returns the means over
    all images seen and RMSE = √(mean MSE).

    Example:
        >>> meter = PerceptibilityMeter()
        >>> meter.update(torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5))
        >>> meter.compute()["linf"]
        0.5
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every image seen so far."""
        self._sums = {"linf": 0.0, "l2": 0.0, "mse": 0.0}
        self.count = 0

    @torch.no_grad()
    def update(self, clean: Tensor, adv: Tensor) -> None:
        """Add a batch of clean images and their adversarial versions (same shape, B×…)."""
        if clean.shape != adv.shape:
            raise ValueError(
                f"shape mismatch: clean {tuple(clean.shape)} vs adv {tuple(adv.shape)}"
            )
        delta = (adv.double() - clean.double()).flatten(1)
        if delta.shape[0] == 0:
            return
        self._sums["linf"] += float(delta.abs().amax(1).sum())
        self._sums["l2"] += float(delta.norm(dim=1).sum())
        self._sums["mse"] += float(delta.pow(2).mean(1).sum())
        self.count += delta.shape[0]

    def compute(self) -> dict[str, float]:
        """Means over images of ``linf``, ``l2``, ``mse``, and ``rmse`` = √(mean MSE).

        Raises:
            RuntimeError: if no image has been added.
        """
        if self.count == 0:
            raise RuntimeError("PerceptibilityMeter.compute() called before any update()")
        out = {key: value / self.count for key, value in self._sums.items()}
        out["rmse"] = math.sqrt(out["mse"])
        return out


def perceptibility(clean: Tensor, adv: Tensor) -> dict[str, float]:
    """Perturbation size of a whole set of queries (see :class:`PerceptibilityMeter`).

    Args:
        clean: clean images B×C×H×W in [0, 1].
        adv: adversarial images of the same shape.

    Returns:
        ``{"linf", "l2", "mse", "rmse"}``: query means of L∞, L2 and MSE, and √(mean MSE).
    """
    meter = PerceptibilityMeter()
    meter.update(clean, adv)
    return meter.compute()


def _top_n_hits(
    codes: Tensor, db_codes: Tensor, labels: Tensor, db_labels: Tensor, n: int
) -> tuple[Tensor, Tensor, int]:
    """Hits in each query's top-n (n clipped to D), relevant counts, and the clipped n."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    n = min(n, db_codes.shape[0])
    hits, n_rel = [], []
    for rel, total in ranked_relevance(codes, db_codes, labels, db_labels, n):
        hits.append(rel.sum(1).round().long())
        n_rel.append(total)
    if not hits:
        empty = torch.empty(0, dtype=torch.long)
        return empty, empty, n
    return torch.cat(hits), torch.cat(n_rel), n


def untargeted_asr(
    adv_codes: Tensor, db_codes: Tensor, query_labels: Tensor, db_labels: Tensor, n: int = 100
) -> float:
    """Untargeted attack success rate ASR@N (protocol §5, ours).

    Eligible queries have chance precision π_q = (#relevant database items)/|DB| > 0. A query
    succeeds if its precision in the top N is ≤ π_q (retrieval no better than random). N is
    clipped to |DB|. Pass clean codes to get the clean baseline.

    Returns:
        Fraction of eligible queries that succeed (NaN if no query is eligible).
    """
    hits, n_rel, n = _top_n_hits(adv_codes, db_codes, query_labels, db_labels, n)
    eligible = n_rel > 0
    if not bool(eligible.any()):
        return float("nan")
    # hits / n <= n_rel / D  <=>  hits * D <= n_rel * n, in exact integers
    success = hits * db_codes.shape[0] <= n_rel * n
    return float((success & eligible).sum()) / float(eligible.sum())


def targeted_asr(
    adv_codes: Tensor, db_codes: Tensor, target_labels: Tensor, db_labels: Tensor, n: int = 100
) -> float:
    """Targeted attack success rate ASR@N (protocol §5, ours).

    A query succeeds if at least half of its top N (N clipped to |DB|) share a label with its
    target label. Pass clean codes to get the clean baseline.

    Returns:
        Fraction of all queries that succeed (NaN if there are no queries).
    """
    hits, _, n = _top_n_hits(adv_codes, db_codes, target_labels, db_labels, n)
    if hits.numel() == 0:
        return float("nan")
    return float((2 * hits >= n).double().mean())


def bit_flip_rate(adv_codes: Tensor, clean_codes: Tensor) -> float:
    """Mean over queries of D_H(b(x′), b(x))/K for ±1 codes (diagnostic, protocol §5).

    Returns:
        The fraction of flipped bits, a python float in [0, 1] (NaN for no queries).
    """
    if adv_codes.shape != clean_codes.shape:
        raise ValueError(f"shape mismatch: {tuple(adv_codes.shape)} vs {tuple(clean_codes.shape)}")
    if adv_codes.numel() == 0:
        return float("nan")
    flipped = (adv_codes.to(clean_codes.device) != clean_codes).double()
    return float(flipped.mean(1).mean())
