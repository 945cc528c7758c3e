"""HAG's loss against the spec's equation, P2P/DHTA anchor sampling, THA's schedule and pool."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.attacks import get_attack, tha
from robust_hashing.attacks.tha import training_pool
from robust_hashing.codes import anchor_codes


def _hag_by_hand(
    h: list[list[float]], o: list[list[float]], beta: float, masked_balance: bool = True
) -> float:
    """Spec §5.2, sample by sample: ℓ = (Σω h o / Σω + 1)² + β (mean_k ω h)², summed / 128."""
    total = 0.0
    for hr, orow in zip(h, o, strict=True):
        w = [
            1.0 if abs(a - (1.0 if b >= 0 else -1.0)) < 1.5 else 0.0
            for a, b in zip(hr, orow, strict=True)
        ]
        corr = sum(wk * a * b for wk, a, b in zip(w, hr, orow, strict=True)) / max(sum(w), 1.0)
        kept = [wk * a if masked_balance else a for wk, a in zip(w, hr, strict=True)]
        total += (corr + 1) ** 2 + beta * (sum(kept) / len(hr)) ** 2  # mean over all K bits
    return total / 128


def test_hag_loss_matches_spec_with_masked_balance(model) -> None:
    o = [[0.9, -0.8, 0.7, 0.6], [-0.5, -0.9, 0.4, 0.3]]
    # bits 0 and 2 of row 0 and bit 1 of row 1 already flipped past 0.5: masked out
    h = [[-0.8, -0.7, -0.9, 0.5], [-0.4, 0.95, 0.2, 0.1]]
    got = get_attack("hag", model, None, beta=0.5).loss(torch.tensor(h), torch.tensor(o))
    assert got.item() == pytest.approx(_hag_by_hand(h, o, beta=0.5), rel=1e-6)
    unmasked = _hag_by_hand(h, o, beta=0.5, masked_balance=False)
    assert got.item() != pytest.approx(unmasked, rel=1e-3)  # the test tells the two apart


def _db() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two database rows of label [1, 0] with opposite codes, one row of label [0, 1]."""
    codes = torch.tensor([[1.0, 1, 1, 1], [-1, -1, -1, -1], [1, -1, 1, -1]])
    labels = torch.tensor([[1.0, 0], [1, 0], [0, 1]])
    return codes, labels, torch.tensor([[1.0, 0]]).repeat(64, 1)


def test_anchor_sampling_with_replacement() -> None:
    codes, labels, targets = _db()
    gen = torch.Generator().manual_seed(0)
    anchors = anchor_codes(targets, codes, labels, 9, gen, replace=True)
    # 9 draws (odd) from two opposite codes: the majority code, each seen in some rows
    assert {tuple(a.tolist()) for a in anchors} == {(1.0,) * 4, (-1.0,) * 4}
    without = anchor_codes(targets, codes, labels, 9, torch.Generator().manual_seed(0))
    assert (without == 1).all()  # both rows vote once: sgn(0) = +1 everywhere
    single = anchor_codes(torch.tensor([[0.0, 1]]), codes, labels, 3, gen, replace=True)
    assert torch.equal(single, codes[2:])  # one candidate drawn three times
    none_equal = anchor_codes(torch.tensor([[1.0, 1]]), codes, labels, 1, gen, replace=True)
    assert any(torch.equal(none_equal[0], c) for c in codes)  # largest-overlap fallback
    with pytest.raises(ValueError, match="n_t"):
        anchor_codes(targets, codes, labels, 0, gen, replace=True)


def test_p2p_dhta_replace_flag(model, context, batch) -> None:
    images, labels, targets = batch
    assert get_attack("dhta", model, context).replace is True  # SAAT's port: the default
    exact = get_attack("dhta", model, context, replace=False)
    gen = torch.Generator().manual_seed(exact.seed)
    expected = anchor_codes(targets, context.db_codes, context.db_labels, 9, gen)
    assert torch.equal(exact.theory_codes(images, labels, targets), expected)
    drawn = get_attack("dhta", model, context)
    gen = torch.Generator().manual_seed(drawn.seed)
    expected = anchor_codes(targets, context.db_codes, context.db_labels, 9, gen, replace=True)
    assert torch.equal(drawn.theory_codes(images, labels, targets), expected)


@pytest.mark.parametrize(
    ("anneal", "expected"), [(True, [0.1] * 5 + [0.2, 0.3, 0.5, 0.7, 1.0]), (False, [1.0] * 10)]
)
def test_tha_schedule_option(model, context, batch, anneal, expected) -> None:
    images, labels, targets = batch
    attack = get_attack(
        "tha", model, context, steps=10, proto_epochs=1, proto_steps=1, anneal=anneal
    )
    attack.prepare()
    seen: list[float] = []
    forward = model.forward

    def spy(x: torch.Tensor, alpha: float = 1.0):  # type: ignore[no-untyped-def]
        if torch.is_grad_enabled():
            seen.append(alpha)
        return forward(x, alpha)

    model.forward = spy  # type: ignore[method-assign]
    attack(images, labels, targets)
    assert seen == expected


def test_training_pool_zero_label(context, model, monkeypatch) -> None:
    pool = context.target_pool  # unique non-zero database labels
    assert (context.db_labels.sum(1) == 0).any()  # the toy database has unlabelled rows
    with_zero = training_pool(context)
    assert len(with_zero) == len(pool) + 1 and (with_zero.sum(1) == 0).sum() == 1
    assert torch.equal(with_zero[with_zero.sum(1) > 0], pool)
    assert torch.equal(training_pool(context, include_zero=False), pool)
    seen = []

    def fake_train(codes, labels, pool, **kw):  # type: ignore[no-untyped-def]
        seen.append(pool)
        return tha.PrototypeNet(labels.shape[1], codes.shape[1])

    monkeypatch.setattr(tha, "train_prototype_net", fake_train)
    for zero in (True, False):
        get_attack("tha", model, context, pool_zero=zero).prepare()
    assert [bool((p.sum(1) == 0).any()) for p in seen] == [True, False]
    context.db_labels = context.db_labels[context.db_labels.sum(1) > 0]
    assert torch.equal(training_pool(context), pool)  # no unlabelled row: nothing added
