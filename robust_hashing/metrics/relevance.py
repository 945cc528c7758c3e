"""Relevance of the ranked database items from packed label bits, chunk by chunk of queries.

Relevance is label overlap, rel(q, d) = 1[y_qᵀy_d > 0] (protocol §3). For non-negative
multi-hot labels it is a set intersection, tested on int64 bit words gathered for the
ranked items only, instead of a Q×D label product.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from robust_hashing.metrics.stable_rank import stable_topk
from robust_hashing.ops import label_overlap


def pack_labels(labels: Tensor) -> Tensor | None:
    """Multi-hot labels as int64 bit words (n×W), bit c set iff label c > 0.

    Two non-negative label rows overlap (yᵀy' > 0) iff their words share a set bit. Returns
    ``None`` when a label is negative (then overlap is not a set intersection).
    """
    if bool((labels < 0).any()):
        return None
    n_classes = labels.shape[1]
    n_words = max(1, math.ceil(n_classes / 64))
    if labels.device.type == "cpu":
        packed = np.packbits((labels > 0).numpy(), axis=1, bitorder="little")
        packed = np.pad(packed, ((0, 0), (0, 8 * n_words - packed.shape[1])))
        return torch.from_numpy(np.ascontiguousarray(packed).view("<i8").astype(np.int64))
    return _pack_torch(labels, n_words)


def _pack_torch(labels: Tensor, n_words: int) -> Tensor:
    """:func:`pack_labels` in torch on any device (one shift per class)."""
    words = torch.zeros(labels.shape[0], n_words, dtype=torch.long, device=labels.device)
    for c in range(labels.shape[1]):
        words[:, c // 64] |= (labels[:, c] > 0).long() << (c % 64)
    return words


def relevance_of(
    query_labels: Tensor, db_labels: Tensor, packed: tuple[Tensor, Tensor] | None, order: Tensor
) -> Tensor:
    """Relevance (bool, n×k) of the database items ``order`` (n×k) to each query row.

    Uses the packed bit words (``(query_words, db_words)``) when given, else the float label
    product of the gathered rows.
    """
    if packed is not None:
        q_words, db_words = packed
        if q_words.shape[1] == 1:
            return (db_words[:, 0][order] & q_words[:, :1]) != 0
        return ((db_words[order] & q_words[:, None, :]) != 0).any(-1)
    return (db_labels.float()[order] * query_labels.float()[:, None, :]).sum(-1) > 0


def relevance_chunks(
    query_codes: Tensor,
    db_codes: Tensor,
    query_labels: Tensor,
    db_labels: Tensor,
    top_k: int | None,
    *,
    chunk_size: int,
    totals: bool,
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """``ranked_relevance`` of :mod:`~robust_hashing.metrics.retrieval`; totals only if asked.

    The top k comes from :func:`stable_topk` (no full
    sort for k < D) and relevance from packed label bits, gathered for the ranked items only.
    """
    if query_codes.shape[0] != query_labels.shape[0] or db_codes.shape[0] != db_labels.shape[0]:
        raise ValueError("codes and labels must have the same number of rows")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    device = query_codes.device
    db_codes = db_codes.to(device)
    db_labels = db_labels.to(device)
    query_labels = query_labels.to(device)
    n_db = db_codes.shape[0]
    k = n_db if top_k is None else min(int(top_k), n_db)
    if k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")
    q_words, db_words = pack_labels(query_labels), pack_labels(db_labels)
    for start in range(0, query_codes.shape[0], chunk_size):
        labels = query_labels[start : start + chunk_size]
        words = None if q_words is None else q_words[start : start + chunk_size]
        packed = None if words is None or db_words is None else (words, db_words)
        parts = []
        for first, order in stable_topk(
            query_codes[start : start + chunk_size], db_codes, k, limit=chunk_size
        ):
            rows = slice(first, first + order.shape[0])
            block = None if packed is None else (packed[0][rows], packed[1])
            parts.append(relevance_of(labels[rows], db_labels, block, order))
        n_relevant = None
        if totals:
            if packed is None:
                n_relevant = label_overlap(labels, db_labels).sum(1).long()
            else:
                every = packed[1][None, :, :]
                n_relevant = torch.cat(  # 32 queries at a time: memory O(32 × D)
                    [((every & w[:, None, :]) != 0).any(-1).sum(1) for w in packed[0].split(32)]
                )
        yield torch.cat(parts).double(), n_relevant
