"""Closed-form guide codes against brute force over all 2^K codes (algorithms §3)."""

from __future__ import annotations

import itertools

import pytest
import torch

from robust_hashing.codes import anchor_codes, center_codes, mainstay_codes
from robust_hashing.ops import hamming_distance, sign


def _all_codes(k: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([-1.0, 1.0], repeat=k)))


def _bank(n: int, k: int, c: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    codes = sign(torch.randn(n, k, generator=g))
    labels = (torch.rand(n, c, generator=g) < 0.35).float()
    return codes, labels


def _weights(y: torch.Tensor, bank_labels: torch.Tensor, kind: str) -> tuple[torch.Tensor, ...]:
    inter = y @ bank_labels.t()
    pos, neg = (inter > 0).float(), (inter <= 0).float()
    if kind == "mainstay":
        cos = inter / (y.norm(dim=1, keepdim=True) * bank_labels.norm(dim=1) + 1e-8)
        pos = pos * cos
    wp = pos / pos.sum(1, keepdim=True).clamp_min(1e-12)
    wn = neg / neg.sum(1, keepdim=True).clamp_min(1e-12)
    return wp, wn


def _objective(codes: torch.Tensor, bank: torch.Tensor, wp: torch.Tensor, wn: torch.Tensor):
    """Objective of every candidate code (rows of ``codes``) for one query: (2^K,)."""
    d = hamming_distance(codes, bank).double()  # 2^K × N
    return d @ wp.double() - d @ wn.double()


@pytest.mark.parametrize("kind", ["center", "mainstay"])
@pytest.mark.parametrize(("k", "seed"), [(6, 0), (7, 1), (8, 2)])
def test_guide_codes_match_brute_force(kind: str, k: int, seed: int) -> None:
    bank, bank_labels = _bank(40, k, 5, seed)
    g = torch.Generator().manual_seed(100 + seed)
    queries = (torch.rand(12, 5, generator=g) < 0.4).float()
    queries[0] = 0.0  # all-zero label row: no positives
    queries[1] = 1.0  # every bank row with a label is a positive
    fn = center_codes if kind == "center" else mainstay_codes
    closed = fn(queries, bank, bank_labels)
    assert closed.shape == (12, k)
    assert set(closed.unique().tolist()) <= {-1.0, 1.0}
    candidates = _all_codes(k)
    wp, wn = _weights(queries, bank_labels, kind)
    for i in range(len(queries)):
        values = _objective(candidates, bank, wp[i], wn[i])
        best = values.min()
        attained = _objective(closed[i : i + 1], bank, wp[i], wn[i])[0]
        # Ties: several minimisers may exist; the closed form must attain the minimum value.
        assert attained == pytest.approx(best.item(), abs=1e-9)


def test_center_code_of_zero_label_is_minus_bank_mean() -> None:
    # Odd bank size: no bit of the bank mean is an exact tie (float rounding decides those).
    bank, bank_labels = _bank(31, 8, 4, 3)
    code = center_codes(torch.zeros(1, 4), bank, bank_labels)
    assert torch.equal(code[0], sign(-bank.mean(0)))
    code_m = mainstay_codes(torch.zeros(1, 4), bank, bank_labels)
    assert torch.equal(code_m[0], sign(-bank.mean(0)))


def test_mainstay_weights_favour_closer_labels() -> None:
    # Two positives with different cosine: the closer one dominates a 1-bit disagreement.
    bank = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    bank_labels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    assert torch.equal(mainstay_codes(y, bank, bank_labels), torch.tensor([[1.0, 1.0]]))


def _anchor_setup() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    db_codes = sign(torch.randn(20, 8, generator=g))
    db_labels = torch.zeros(20, 3)
    db_labels[:5, 0] = 1.0  # five items labelled exactly [1,0,0]
    db_labels[5:10, :2] = 1.0  # five items labelled [1,1,0]
    db_labels[10:, 2] = 1.0  # ten items labelled [0,0,1]
    return db_codes, db_labels


def test_anchor_is_majority_vote_of_equal_label_items() -> None:
    db_codes, db_labels = _anchor_setup()
    target = torch.tensor([[1.0, 0.0, 0.0]])
    # n_t larger than the number of equal items: all five are used.
    a = anchor_codes(target, db_codes, db_labels, n_t=9, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a[0], sign(db_codes[:5].sum(0)))
    # n_t = 3: the anchor is the vote of some 3-subset of the equal items (never [1,1,0] ones).
    a3 = anchor_codes(
        target, db_codes, db_labels, n_t=3, generator=torch.Generator().manual_seed(1)
    )
    votes = [sign(db_codes[list(s)].sum(0)) for s in itertools.combinations(range(5), 3)]
    assert any(torch.equal(a3[0], v) for v in votes)
    # n_t = 1 (P2P): the anchor is the code of one equal-label item.
    a1 = anchor_codes(target.repeat(6, 1), db_codes, db_labels, n_t=1)
    for row in a1:
        assert any(torch.equal(row, db_codes[j]) for j in range(5))


def test_anchor_respects_n_t_and_seed() -> None:
    db_codes, db_labels = _anchor_setup()
    target = torch.tensor([[0.0, 0.0, 1.0]]).repeat(30, 1)
    a = anchor_codes(target, db_codes, db_labels, 3, torch.Generator().manual_seed(5))
    b = anchor_codes(target, db_codes, db_labels, 3, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    # Every row is the vote of exactly three of the ten equal items.
    votes = {
        tuple(sign(db_codes[10 + torch.tensor(s)].sum(0)).tolist())
        for s in itertools.combinations(range(10), 3)
    }
    assert all(tuple(r.tolist()) in votes for r in a)
    with pytest.raises(ValueError):
        anchor_codes(target, db_codes, db_labels, 0)


def test_anchor_falls_back_to_largest_overlap() -> None:
    db_codes, db_labels = _anchor_setup()
    target = torch.tensor([[0.0, 1.0, 1.0]])  # no equal item; [1,1,0] and [0,0,1] overlap 1
    a = anchor_codes(target, db_codes, db_labels, n_t=1)
    assert any(torch.equal(a[0], db_codes[j]) for j in range(5, 20))
    target2 = torch.tensor([[1.0, 1.0, 1.0]])  # largest overlap 2: only the [1,1,0] items
    a2 = anchor_codes(target2, db_codes, db_labels, n_t=20)
    assert torch.equal(a2[0], sign(db_codes[5:10].sum(0)))


def _anchors_with_replacement_by_hand(
    targets: torch.Tensor, db_codes: torch.Tensor, db_labels: torch.Tensor, n_t: int, seed: int
) -> torch.Tensor:
    """With-replacement anchors, row by row in Python.

    The candidate rows are found by loops (equal labels, else largest overlap); the seeded
    draw is one ``torch.multinomial`` over the m×D candidate indicator, with replacement
    (what fixes which rows a seed draws); the votes are counted by hand, sgn(0) = +1.
    """
    t_rows, l_rows = targets.tolist(), db_labels.tolist()
    weights = torch.zeros(len(t_rows), len(l_rows))
    for i, t in enumerate(t_rows):
        rows = [j for j, lab in enumerate(l_rows) if lab == t]
        if not rows:
            overlap = [sum(a * b for a, b in zip(t, lab, strict=True)) for lab in l_rows]
            rows = [j for j, o in enumerate(overlap) if o == max(overlap)]
        weights[i, rows] = 1.0
    gen = torch.Generator().manual_seed(seed)
    drawn = torch.multinomial(weights, n_t, replacement=True, generator=gen)
    out = []
    for picks in drawn.tolist():
        total = [0.0] * db_codes.shape[1]
        for j in picks:
            total = [s + c for s, c in zip(total, db_codes[j].tolist(), strict=True)]
        out.append([1.0 if s >= 0 else -1.0 for s in total])
    return torch.tensor(out)


@pytest.mark.parametrize("n_t", [1, 2, 9])
def test_anchor_with_replacement_matches_a_draw_by_hand(n_t: int) -> None:
    for seed in range(5):
        db_codes, db_labels = _bank(40, 12, 4, seed=100 + seed)
        targets = (torch.rand(25, 4, generator=torch.Generator().manual_seed(seed)) < 0.4).float()
        gen = torch.Generator().manual_seed(seed)
        got = anchor_codes(targets, db_codes, db_labels, n_t, gen, replace=True)
        expected = _anchors_with_replacement_by_hand(targets, db_codes, db_labels, n_t, seed)
        assert torch.equal(got, expected), (seed, n_t)
        # without replacement stays the default
        default = anchor_codes(targets, db_codes, db_labels, n_t, torch.Generator().manual_seed(0))
        explicit = anchor_codes(
            targets, db_codes, db_labels, n_t, torch.Generator().manual_seed(0), replace=False
        )
        assert torch.equal(default, explicit)


def test_exact_tie_gives_plus_one():
    """sgn(0) = +1: one positive and one negative with opposite codes tie on every bit."""
    from robust_hashing.codes import center_codes, mainstay_codes

    bank = torch.tensor([[1.0, -1.0, 1.0], [1.0, -1.0, 1.0]])
    bank_labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # positive mean = negative mean on every bit → v = 0 → +1
    y = torch.tensor([[1.0, 0.0]] * 3)
    for fn in (center_codes, mainstay_codes):
        assert torch.equal(fn(y, bank, bank_labels), torch.ones(3, 3))
    # weights 1/3 that do not sum exactly in floating point
    bank3 = torch.tensor([[1.0], [1.0], [-1.0], [1.0], [1.0], [-1.0]])
    labels3 = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3)
    assert center_codes(torch.tensor([[1.0, 0.0]]), bank3, labels3).item() == 1.0
