"""Hamming-ranking retrieval metrics: mAP@k (two conventions), t-mAP, P@N and the PR curve.

Every metric ranks the database for each query by **ascending Hamming distance, ties broken by
ascending database row index** (a stable sort, protocol §4). Relevance is label overlap,
rel(q, d) = 1[y_qᵀy_d > 0] (protocol §3). The ranking needs no full sort for k < |DB|
(:mod:`robust_hashing.metrics.stable_rank`); the work is vectorised and chunked over queries,
so memory is O(chunk_size × |DB|); it runs on the device of the codes and every count is an
exact integer, so CPU and GPU give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

from robust_hashing.metrics.relevance import relevance_chunks

# The N of the P@N curve (protocol §5): 100, 110, …, 1000.
P_AT_N: tuple[int, ...] = tuple(range(100, 1001, 10))


def ranked_relevance(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    top_k: int | None = None,
    *,
    chunk_size: int = 256,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield, chunk by chunk of queries, the relevance of the ranked top-k database items.

    Args:
        query_codes: ±1 query codes, Q×K.
        db_codes: ±1 database codes, D×K.
        query_labels: multi-hot query labels (or target labels), Q×C.
        db_labels: multi-hot database labels, D×C.
        top_k: ranking depth; ``None`` (or a value ≥ D) means the full database.
        chunk_size: queries per chunk.

    Yields:
        ``(rel, n_relevant)``: ``rel`` is a chunk×k float64 0/1 matrix whose column j is the
        relevance of the item ranked j-th (ascending distance, ties by ascending database
        index); ``n_relevant`` holds each query's number of relevant items in the whole
        database (int64).
    """
    for rel, n_relevant in relevance_chunks(
        query_codes, db_codes, query_labels, db_labels, top_k, chunk_size=chunk_size, totals=True
    ):
        assert n_relevant is not None
        yield rel, n_relevant


def ap_from_relevance(rel: Tensor) -> Tensor:
    """Average precision of each row of a relevance matrix that is already in ranked order.

    AP(q) = (1/R)·Σ_j rel_j·(Σ_{i≤j} rel_i)/j with R = Σ_j rel_j (protocol §5), i.e. the
    normalisation counts only the relevant items inside the given list.

    Args:
        rel: n×k 0/1 matrix, column j being the relevance of rank j (1-based rank j + 1).

    Returns:
        float64 tensor of n APs; rows with R = 0 (AP undefined) are NaN.
    """
    rel = rel.double()
    ranks = torch.arange(1, rel.shape[1] + 1, device=rel.device, dtype=torch.float64)
    hits = rel.sum(1)
    ap = (rel * rel.cumsum(1) / ranks).sum(1) / hits
    return torch.where(hits > 0, ap, torch.full_like(ap, float("nan")))


def average_precision_per_query(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    top_k: int | None = None,
    *,
    chunk_size: int = 256,
) -> Tensor:
    """AP@k of every query under the stable Hamming ranking (see :func:`ranked_relevance`).

    Returns:
        float64 tensor (Q,) on the codes' device; NaN for queries with no relevant item in
        their top k (AP undefined; :func:`mean_average_precision` applies the conventions).
    """
    parts = [
        ap_from_relevance(rel)
        for rel, _ in relevance_chunks(
            query_codes,
            db_codes,
            query_labels,
            db_labels,
            top_k,
            chunk_size=chunk_size,
            totals=False,
        )
    ]
    if not parts:
        return torch.empty(0, dtype=torch.float64, device=query_codes.device)
    return torch.cat(parts)


def mean_average_precision(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    top_k: int | None = None,
    *,
    hit_only: bool = False,
    chunk_size: int = 256,
) -> float:
    """mAP@k of Hamming ranking (protocol §5).

    Ranking is by ascending Hamming distance with ties broken by ascending database row
    index (stable sort). AP@k is normalised by the number R of relevant items inside the
    top k. A query with R = 0 has undefined AP and is handled by the convention:

    * ``hit_only=False`` — convention (a), the headline: such queries count 0 and the sum is
      divided by the number of **all** queries;
    * ``hit_only=True`` — convention (b): the mean over queries with R > 0 only (0.0 if
      there are none).

    t-mAP is this same function with the target labels passed as ``query_labels``
    (:data:`targeted_map`).

    Args:
        query_codes: ±1 query codes, Q×K.
        db_codes: ±1 database codes, D×K.
        query_labels: multi-hot query labels, Q×C (target labels for t-mAP).
        db_labels: multi-hot database labels, D×C.
        top_k: ranking depth k; ``None`` = the full database (k = D, no item dropped).
        hit_only: use convention (b) instead of (a).
        chunk_size: queries per chunk (memory O(chunk_size × D)); does not change the result.

    Returns:
        mAP as a python float.
    """
    ap = average_precision_per_query(
        query_codes, db_codes, query_labels, db_labels, top_k, chunk_size=chunk_size
    )
    return map_from_ap(ap, hit_only=hit_only)


def map_from_ap(ap: Tensor, hit_only: bool = False) -> float:
    """The mAP of :func:`average_precision_per_query`'s output, under either convention.

    NaN entries (no relevant item in the top k) count 0 over all queries (convention (a)),
    or are left out (``hit_only``, convention (b); 0.0 if every entry is NaN). Rank once and
    derive both conventions and :func:`map_standard_error` from the same tensor.
    """
    defined = ~torch.isnan(ap)
    if hit_only:
        n = int(defined.sum())
        return float(ap[defined].sum()) / n if n else 0.0
    return float(ap[defined].sum()) / ap.numel() if ap.numel() else 0.0


def map_standard_error(ap: Tensor) -> float:
    """Standard error over queries of the mAP (convention (a)) of per-query AP ``ap``.

    The sample standard deviation of the per-query AP@k (0 for a query with no relevant item
    in its top k, NaN in ``ap``) divided by √Q: how far the mAP of Q queries may sit from that
    of the whole query population. NaN with fewer than two queries.
    """
    if ap.numel() < 2:
        return math.nan
    ap = torch.nan_to_num(ap, nan=0.0)
    return float(ap.std(unbiased=True)) / math.sqrt(ap.numel())


targeted_map = mean_average_precision
"""t-mAP: :func:`mean_average_precision` called with target labels as ``query_labels``."""


def precision_at_n(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    ns: Iterable[int] = P_AT_N,
    *,
    chunk_size: int = 256,
) -> Tensor:
    """Mean precision P@N = (1/N)·Σ_{j≤N} rel_j over all queries, for each N in ``ns``.

    N larger than the database size is clipped to D. Pass target labels as
    ``query_labels`` for the targeted variant.

    Returns:
        float64 CPU tensor with one mean precision per N (in the order of ``ns``).
    """
    n_db = db_codes.shape[0]
    clipped = torch.tensor([min(int(n), n_db) for n in ns], dtype=torch.long)
    if clipped.numel() == 0 or int(clipped.min()) <= 0:
        raise ValueError("ns must be a non-empty list of positive integers")
    total = torch.zeros(clipped.numel(), dtype=torch.float64)
    n_queries = 0
    for rel, _ in relevance_chunks(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        int(clipped.max()),
        chunk_size=chunk_size,
        totals=False,
    ):
        hits = rel.cumsum(1)[:, clipped.to(rel.device) - 1]
        total += (hits / clipped.to(rel.device)).sum(0).cpu()
        n_queries += rel.shape[0]
    return total / max(n_queries, 1)


def pr_curve(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    *,
    steps: int = 100,
    chunk_size: int = 256,
) -> tuple[Tensor, Tensor]:
    """Precision–recall curve over the full ranking (protocol §5, our rule).

    Only queries with at least one relevant database item take part. For each recall level
    ρ = l/steps (l = 1..steps; 0.01..1.00 by default), a query's precision is its precision
    at the first rank whose recall is ≥ ρ (compared exactly in integers); the curve is the
    mean over those queries.

    Returns:
        ``(recall_levels, precision)``, two float64 CPU tensors of length ``steps``
        (precision is NaN everywhere if no query has a relevant item).
    """
    levels = torch.arange(1, steps + 1, dtype=torch.long)
    total = torch.zeros(steps, dtype=torch.float64)
    n_queries = 0
    for rel, n_rel in ranked_relevance(
        query_codes, db_codes, query_labels, db_labels, None, chunk_size=chunk_size
    ):
        keep = n_rel > 0
        rel, n_rel = rel[keep], n_rel[keep]
        if rel.shape[0] == 0:
            continue
        hits = rel.cumsum(1).round().long()
        # recall_j >= l/steps  <=>  steps * hits_j >= l * R  (exact integer comparison)
        thresholds = levels.to(rel.device)[None, :] * n_rel[:, None]
        pos = torch.searchsorted((steps * hits).contiguous(), thresholds.contiguous())
        precision = hits.gather(1, pos).double() / (pos + 1).double()
        total += precision.sum(0).cpu()
        n_queries += rel.shape[0]
    recall = levels.double() / steps
    if n_queries == 0:
        return recall, torch.full((steps,), float("nan"), dtype=torch.float64)
    return recall, total / n_queries
