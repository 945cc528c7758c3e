"""Retrieval metrics against an independent per-query numpy reference and hand examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.functional.retrieval import retrieval_average_precision

from robust_hashing.metrics import (
    ap_from_relevance,
    average_precision_per_query,
    map_standard_error,
    mean_average_precision,
    pr_curve,
    precision_at_n,
    targeted_map,
)


def reference_ap(q, db, ql, dbl, top_k=None):
    """Per-query AP@k (NaN where no hit), plain numpy loop with a stable argsort."""
    k_bits = q.shape[1]
    out = []
    for i in range(q.shape[0]):
        dist = (k_bits - db @ q[i]) / 2
        order = np.argsort(dist, kind="stable")
        if top_k is not None:
            order = order[:top_k]
        rel = ((dbl[order] @ ql[i]) > 0).astype(float)
        if rel.sum() == 0:
            out.append(np.nan)
            continue
        total, found = 0.0, 0
        for j, r in enumerate(rel, start=1):
            if r:
                found += 1
                total += found / j
        out.append(total / found)
    return np.array(out)


def reference_map(q, db, ql, dbl, top_k=None, hit_only=False):
    ap = reference_ap(q, db, ql, dbl, top_k)
    if hit_only:
        return float(np.nanmean(ap)) if np.any(~np.isnan(ap)) else 0.0
    return float(np.nansum(ap) / len(ap))


def random_case(seed, n_q=13, n_db=57, bits=8, classes=5):
    rng = np.random.default_rng(seed)
    q = rng.choice([-1.0, 1.0], size=(n_q, bits))
    db = rng.choice([-1.0, 1.0], size=(n_db, bits))
    ql = (rng.random((n_q, classes)) < 0.25).astype(float)
    dbl = (rng.random((n_db, classes)) < 0.2).astype(float)
    ql[0] = 0  # an all-zero label row
    dbl[:3] = 0
    ql[1] = 0
    ql[1, classes - 1] = 1
    dbl[:, classes - 1] = 0  # query 1 has no relevant item at all
    return q, db, ql, dbl


def as_t(*arrays):
    return [torch.from_numpy(a).float() for a in arrays]


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("top_k", [None, 1, 7, 20, 1000])
def test_map_matches_numpy_reference(seed, top_k):
    q, db, ql, dbl = random_case(seed)
    tq, tdb, tql, tdbl = as_t(q, db, ql, dbl)
    ref = reference_ap(q, db, ql, dbl, top_k)
    got = average_precision_per_query(tq, tdb, tql, tdbl, top_k, chunk_size=4).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-6, equal_nan=True)
    for hit_only in (False, True):
        expected = reference_map(q, db, ql, dbl, top_k, hit_only)
        value = mean_average_precision(tq, tdb, tql, tdbl, top_k, hit_only=hit_only)
        assert isinstance(value, float)
        assert value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("top_k", [None, 7])
def test_map_standard_error_matches_numpy(seed, top_k):
    q, db, ql, dbl = random_case(seed)
    ap = np.nan_to_num(reference_ap(q, db, ql, dbl, top_k), nan=0.0)  # convention (a)
    expected = np.std(ap, ddof=1) / np.sqrt(len(ap))
    got = map_standard_error(average_precision_per_query(*as_t(q, db, ql, dbl), top_k))
    assert got == pytest.approx(expected, abs=1e-9) and got > 0
    one = map_standard_error(average_precision_per_query(*as_t(q[:1], db, ql[:1], dbl), top_k))
    assert np.isnan(one)  # undefined for a single query


def test_chunk_size_does_not_change_result():
    q, db, ql, dbl = random_case(123, n_q=40, n_db=90)
    tq, tdb, tql, tdbl = as_t(q, db, ql, dbl)
    values = {
        mean_average_precision(tq, tdb, tql, tdbl, 30, chunk_size=c) for c in (1, 3, 7, 40, 999)
    }
    assert len(values) == 1


def test_int_codes_and_label_devices_accepted():
    q, db, ql, dbl = random_case(5)
    tq, tdb, tql, tdbl = as_t(q, db, ql, dbl)
    a = mean_average_precision(tq, tdb, tql, tdbl, 10)
    b = mean_average_precision(tq.long(), tdb.long(), tql.bool(), tdbl.bool(), 10)
    assert a == b


def test_hand_example_ties_and_topk():
    # query 0000; db distances: 1, 0, 1, 0  -> stable order: 1, 3, 0, 2
    q = torch.tensor([[1.0, 1, 1, 1]])
    db = torch.tensor([[-1.0, 1, 1, 1], [1, 1, 1, 1], [1, -1, 1, 1], [1, 1, 1, 1]])
    ql = torch.tensor([[1.0, 0]])
    dbl = torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, 0]])
    # ranked relevance: [0, 1, 1, 1]
    full = (1 / 2 + 2 / 3 + 3 / 4) / 3
    assert mean_average_precision(q, db, ql, dbl) == pytest.approx(full)
    assert mean_average_precision(q, db, ql, dbl, top_k=2) == pytest.approx(1 / 2)  # R=1 inside
    assert mean_average_precision(q, db, ql, dbl, top_k=1) == 0.0
    # a second query without hits in top 1: (a) halves, (b) ignores it
    q2 = torch.cat([q, q])
    ql2 = torch.tensor([[1.0, 0], [0, 1]])  # ranks: [0,1,1,1] and [1,0,1,0]
    assert mean_average_precision(q2, db, ql2, dbl, top_k=1) == pytest.approx(0.5)
    assert mean_average_precision(q2, db, ql2, dbl, top_k=1, hit_only=True) == pytest.approx(1.0)
    # t-mAP is the same function with target labels
    assert targeted_map is mean_average_precision


def test_no_hit_anywhere_conventions():
    q = torch.ones(2, 4)
    db = torch.ones(3, 4)
    ql = torch.zeros(2, 2)
    dbl = torch.ones(3, 2)
    assert mean_average_precision(q, db, ql, dbl) == 0.0
    assert mean_average_precision(q, db, ql, dbl, hit_only=True) == 0.0


def test_against_torchmetrics_with_tie_free_hamming_codes():
    # each query gets its own database whose items lie at distinct Hamming distances
    gen = torch.Generator().manual_seed(0)
    bits, n_db = 64, 40
    for _ in range(10):
        q = torch.where(torch.rand(1, bits, generator=gen) < 0.5, -1.0, 1.0)
        dists = torch.randperm(bits + 1, generator=gen)[:n_db]
        db = q.repeat(n_db, 1)
        for row, d in enumerate(dists.tolist()):
            flip = torch.randperm(bits, generator=gen)[:d]
            db[row, flip] *= -1
        dbl = (torch.rand(n_db, 4, generator=gen) < 0.3).float()
        ql = torch.tensor([[1.0, 0, 1, 0]])
        target = (dbl @ ql[0]) > 0
        if not target.any():
            continue
        # torchmetrics zeroes the relevance of non-positive scores: keep scores > 0
        expected = retrieval_average_precision((bits + 1 - dists).float(), target)
        got = mean_average_precision(q, db, ql, dbl)
        assert got == pytest.approx(float(expected), abs=1e-6)


def test_ap_core_against_torchmetrics_on_float_scores():
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        # continuous (no ties) and strictly positive (torchmetrics drops scores <= 0)
        scores = torch.rand(50, generator=gen) + 0.1
        target = torch.rand(50, generator=gen) < 0.3
        target[0] = True
        rel = target[scores.argsort(descending=True)].float()[None]
        expected = retrieval_average_precision(scores, target)
        assert float(ap_from_relevance(rel)[0]) == pytest.approx(float(expected), abs=1e-6)


def test_precision_at_n_hand_example():
    q = torch.tensor([[1.0, 1, 1, 1]])
    db = torch.tensor([[-1.0, 1, 1, 1], [1, 1, 1, 1], [1, -1, 1, 1], [1, 1, 1, 1]])
    ql = torch.tensor([[1.0, 0]])
    dbl = torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, 0]])  # ranked relevance [0, 1, 1, 1]
    p = precision_at_n(q, db, ql, dbl, ns=[1, 2, 3, 4, 10])
    torch.testing.assert_close(p, torch.tensor([0.0, 0.5, 2 / 3, 0.75, 0.75], dtype=torch.float64))


@pytest.mark.parametrize("seed", range(5))
def test_precision_at_n_matches_numpy(seed):
    q, db, ql, dbl = random_case(seed, n_q=9, n_db=30)
    ns = [1, 5, 10, 30, 50]
    expected = []
    for n in ns:
        vals = []
        for i in range(len(q)):
            order = np.argsort((8 - db @ q[i]) / 2, kind="stable")[: min(n, len(db))]
            vals.append(((dbl[order] @ ql[i]) > 0).sum() / min(n, len(db)))
        expected.append(np.mean(vals))
    got = precision_at_n(*as_t(q, db, ql, dbl), ns=ns, chunk_size=2)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-9)


def test_pr_curve_hand_example():
    q = torch.tensor([[1.0, 1, 1, 1], [1.0, 1, 1, 1]])
    db = torch.tensor([[-1.0, 1, 1, 1], [1, 1, 1, 1], [1, -1, 1, 1], [1, 1, 1, 1]])
    ql = torch.tensor([[1.0, 0], [0, 0]])  # second query has no relevant item: excluded
    dbl = torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, 0]])  # ranked relevance [0, 1, 1, 1]
    recall, precision = pr_curve(q, db, ql, dbl)
    assert recall.shape == precision.shape == (100,)
    assert float(recall[0]) == pytest.approx(0.01) and float(recall[-1]) == 1.0
    # recall after ranks 2, 3, 4 = 1/3, 2/3, 1 ; precision there 1/2, 2/3, 3/4
    expected = torch.empty(100, dtype=torch.float64)
    levels = torch.arange(1, 101) / 100
    expected[levels <= 1 / 3 + 1e-12] = 1 / 2
    expected[(levels > 1 / 3 + 1e-12) & (levels <= 2 / 3 + 1e-12)] = 2 / 3
    expected[levels > 2 / 3 + 1e-12] = 3 / 4
    torch.testing.assert_close(precision, expected)


def test_pr_curve_matches_numpy():
    q, db, ql, dbl = random_case(7, n_q=11, n_db=40)
    precisions = []
    for i in range(len(q)):
        order = np.argsort((8 - db @ q[i]) / 2, kind="stable")
        rel = ((dbl[order] @ ql[i]) > 0).astype(int)
        if rel.sum() == 0:
            continue
        hits = np.cumsum(rel)
        row = []
        for level in range(1, 101):
            pos = next(j for j in range(len(rel)) if 100 * hits[j] >= level * rel.sum())
            row.append(hits[pos] / (pos + 1))
        precisions.append(row)
    _, got = pr_curve(*as_t(q, db, ql, dbl), chunk_size=3)
    np.testing.assert_allclose(got.numpy(), np.mean(precisions, axis=0), atol=1e-9)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    q, db, ql, dbl = random_case(11, n_q=300, n_db=2000, bits=16)
    cpu = as_t(q, db, ql, dbl)
    gpu = [t.cuda() for t in cpu]
    for top_k in (None, 100):
        for hit_only in (False, True):
            a = mean_average_precision(*cpu, top_k, hit_only=hit_only)
            b = mean_average_precision(*gpu, top_k, hit_only=hit_only)
            assert a == pytest.approx(b, abs=1e-12)
    torch.testing.assert_close(precision_at_n(*cpu), precision_at_n(*gpu))
    torch.testing.assert_close(pr_curve(*cpu)[1], pr_curve(*gpu)[1])
