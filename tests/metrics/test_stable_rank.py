"""The sort-free stable ranking against a stable numpy argsort, on inputs with many ties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robust_hashing.metrics import average_precision_per_query, mean_average_precision, stable_rank
from robust_hashing.metrics.relevance import _pack_torch, pack_labels, relevance_of
from robust_hashing.metrics.stable_rank import _order_torch, stable_order
from tests.metrics.test_retrieval import reference_ap, reference_map


def tied_case(seed, n_q, n_db, bits, classes, n_codes=6, flip=0.1, density=0.1):
    """Codes drawn around a few centres (many equal distances), sparse multi-hot labels."""
    rng = np.random.default_rng(seed)
    centres = rng.choice([-1.0, 1.0], size=(n_codes, bits))
    q = centres[rng.integers(0, n_codes, n_q)]
    db = centres[rng.integers(0, n_codes, n_db)]
    db = np.where(rng.random(db.shape) < flip, -db, db)
    ql = (rng.random((n_q, classes)) < density).astype(float)
    dbl = (rng.random((n_db, classes)) < density).astype(float)
    ql[0] = 0  # a query with no label: never a hit
    return q, db, ql, dbl


def as_t(*arrays):
    return [torch.from_numpy(a).float() for a in arrays]


@pytest.fixture(params=["sampled", "misjudged"])
def guess(request, monkeypatch):
    """Small tiles and a strided sample; also a threshold guess too low (the raise loop)."""
    monkeypatch.setattr(stable_rank, "SAMPLE_SIZE", 16)
    monkeypatch.setattr(stable_rank, "CPU_TILE", 7)  # many database tiles per query block
    monkeypatch.setattr(stable_rank, "CPU_QUERY_BLOCK", 4)
    if request.param == "misjudged":
        monkeypatch.setattr(stable_rank, "HEADROOM", 0.05)
    return request.param


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("top_k", [None, 1, 3, 25, 199, 200, 5000])
def test_ap_matches_stable_numpy_reference(seed, top_k, guess):
    q, db, ql, dbl = tied_case(seed, n_q=17, n_db=200, bits=[8, 16, 32][seed % 3], classes=7)
    tq, tdb, tql, tdbl = as_t(q, db, ql, dbl)
    ref = reference_ap(q, db, ql, dbl, top_k)
    got = average_precision_per_query(tq, tdb, tql, tdbl, top_k, chunk_size=5).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9, equal_nan=True)
    for hit_only in (False, True):
        value = mean_average_precision(tq, tdb, tql, tdbl, top_k, hit_only=hit_only)
        assert abs(value - reference_map(q, db, ql, dbl, top_k, hit_only)) <= 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_order_is_prefix_of_stable_argsort(seed, guess):
    rng = np.random.default_rng(seed)
    n, n_db = 9, int(rng.integers(2, 400))
    dist = rng.integers(0, 5, size=(n, n_db)).astype(np.float32)  # heavy ties
    dist[0] = 3  # one row entirely tied
    expected = np.argsort(dist, axis=1, kind="stable")
    for k in sorted({1, 2, n_db // 3 + 1, n_db - 1, n_db} - {0}):
        want = expected[:, :k]
        np.testing.assert_array_equal(stable_order(torch.from_numpy(dist), k).numpy(), want)
        # the torch path (used on CUDA) gives the same indices on the CPU
        np.testing.assert_array_equal(_order_torch(torch.from_numpy(dist), k).numpy(), want)


def test_pack_labels_overlap_equals_label_product():
    rng = np.random.default_rng(3)
    for classes in (1, 21, 63, 64, 65, 130):
        a = torch.from_numpy((rng.random((20, classes)) < 0.05).astype(np.float32))
        b = torch.from_numpy((rng.random((30, classes)) < 0.05).astype(np.float32))
        order = torch.from_numpy(rng.integers(0, 30, size=(20, 12)))
        expected = ((a @ b.t()) > 0).gather(1, order)
        packed = (pack_labels(a), pack_labels(b))
        assert torch.equal(relevance_of(a, b, packed, order), expected)
        words = -(-classes // 64)  # the torch packing (used off the CPU) gives the same words
        assert torch.equal(_pack_torch(a, words), packed[0])
        assert torch.equal(relevance_of(a, b, None, order), expected)
    assert pack_labels(torch.tensor([[1.0, -1.0]])) is None


def test_negative_labels_fall_back_to_the_label_product():
    q, db, ql, dbl = tied_case(1, n_q=8, n_db=60, bits=8, classes=4)
    dbl[:5, 0] = -1.0  # overlap is then the sign of a product, not a set intersection
    ref = reference_ap(q, db, ql, dbl, 10)
    got = average_precision_per_query(*as_t(q, db, ql, dbl), 10).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9, equal_nan=True)


def test_large_k_and_many_queries_match_reference():
    q, db, ql, dbl = tied_case(9, n_q=40, n_db=3000, bits=32, classes=21, n_codes=30)
    tq, tdb, tql, tdbl = as_t(q, db, ql, dbl)
    for top_k in (500, None):
        expected = reference_map(q, db, ql, dbl, top_k)
        assert abs(mean_average_precision(tq, tdb, tql, tdbl, top_k) - expected) <= 1e-9
