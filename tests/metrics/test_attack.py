"""Attack metrics: perceptibility, ASR and bit-flip rate on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robust_hashing.metrics import (
    PerceptibilityMeter,
    bit_flip_rate,
    perceptibility,
    targeted_asr,
    untargeted_asr,
)


def test_perceptibility_hand_example():
    clean = torch.zeros(2, 1, 2, 2)
    adv = clean.clone()
    adv[0, 0, 0, 0] = 0.3  # image 0: linf .3, l2 .3, mse .09/4
    adv[1] = 0.1  # image 1: linf .1, l2 .2, mse .01
    out = perceptibility(clean, adv)
    assert set(out) == {"linf", "l2", "mse", "rmse"}
    assert out["linf"] == pytest.approx(0.2)
    assert out["l2"] == pytest.approx(0.25)
    mse = (0.09 / 4 + 0.01) / 2
    assert out["mse"] == pytest.approx(mse)
    assert out["rmse"] == pytest.approx(math.sqrt(mse))


def test_meter_accumulates_like_one_batch():
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(7, 3, 8, 8, generator=gen)
    adv = (clean + (torch.rand(7, 3, 8, 8, generator=gen) - 0.5) * 0.06).clamp(0, 1)
    meter = PerceptibilityMeter()
    for i in range(0, 7, 3):
        meter.update(clean[i : i + 3], adv[i : i + 3])
    whole = perceptibility(clean, adv)
    batched = meter.compute()
    for key in whole:
        assert batched[key] == pytest.approx(whole[key], rel=1e-12)
    delta = (adv - clean).double().numpy().reshape(7, -1)
    assert whole["l2"] == pytest.approx(np.linalg.norm(delta, axis=1).mean())
    meter.reset()
    with pytest.raises(RuntimeError):
        meter.compute()


def _setup():
    # query code 1111; database distances 0, 1, 2, 3 in row order
    q = torch.ones(2, 4)
    db = torch.tensor([[1.0, 1, 1, 1], [-1, 1, 1, 1], [-1, -1, 1, 1], [-1, -1, -1, 1]])
    dbl = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    return q, db, dbl


def test_untargeted_asr_hand_example():
    q, db, dbl = _setup()
    labels = torch.tensor([[1.0, 0], [0, 1]])  # pi = 0.5 each
    # n=2: q0 precision 1 > .5 fails; q1 precision 0 <= .5 succeeds
    assert untargeted_asr(q, db, labels, dbl, n=2) == pytest.approx(0.5)
    # n=4 (full db): precision == pi for both -> both succeed
    assert untargeted_asr(q, db, labels, dbl, n=4) == 1.0
    assert untargeted_asr(q, db, labels, dbl, n=100) == 1.0  # n clipped to |DB|
    # ineligible query (no relevant item) is excluded
    labels3 = torch.tensor([[1.0, 0], [0, 0]])
    assert untargeted_asr(q, db, labels3, dbl, n=1) == 0.0
    assert math.isnan(untargeted_asr(q, db, torch.zeros(2, 2), dbl, n=1))


def test_targeted_asr_hand_example():
    q, db, dbl = _setup()
    targets = torch.tensor([[1.0, 0], [0, 1]])
    assert targeted_asr(q, db, targets, dbl, n=2) == 0.5  # q0 2/2, q1 0/2
    assert targeted_asr(q, db, targets, dbl, n=4) == 1.0  # both exactly 0.5
    assert targeted_asr(q, db, targets, dbl, n=3) == 0.5  # q1 1/3 < 0.5
    # ties broken by database index: all codes equal -> the first rows come first
    assert targeted_asr(q, torch.ones(4, 4), targets, dbl, n=2) == 0.5


def test_bit_flip_rate():
    clean = torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1]])
    adv = torch.tensor([[-1.0, 1, 1, 1], [-1, 1, -1, 1]])
    assert bit_flip_rate(adv, clean) == pytest.approx((0.25 + 1.0) / 2)
    assert bit_flip_rate(clean, clean) == 0.0
    with pytest.raises(ValueError):
        bit_flip_rate(adv[:1], clean)
