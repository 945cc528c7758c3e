"""ERS (RobRank's rescaling, protocol §8) against hand computations."""

from __future__ import annotations

import math

import pytest

from robust_hashing.metrics import RANKING_FIGURES, benign_normalised_ers, ers, ers_terms

FIGURES = {
    "ca_plus": 40.0,
    "ca_minus": 10.0,
    "qa_plus": 30.0,
    "qa_minus": 20.0,
    "tma": 0.5,
    "es_d": 1.2,
    "es_r": 60.0,
    "ltm": 50.0,
    "gtm": 40.0,
    "gtt": 70.0,
}


def test_ers_hand_computation() -> None:
    # 2·40 + (100−10) + 2·30 + (100−20) + 100·(1−0.5) + 50·(2−1.2) + 60 + 50 + 40 + 70
    # = 80 + 90 + 60 + 80 + 50 + 40 + 60 + 50 + 40 + 70 = 620, over 10 terms.
    assert ers(FIGURES) == pytest.approx(62.0)
    assert list(ers_terms(FIGURES).values()) == pytest.approx(
        [80, 90, 60, 80, 50, 40, 60, 50, 40, 70]
    )


def test_ers_of_an_unattacked_perfect_model() -> None:
    benign = dict(zip(RANKING_FIGURES, (50, 0, 50, 0, 0, 0, 100, 100, 100, 100), strict=True))
    assert ers(benign) == pytest.approx(100.0)


def test_ers_needs_all_ten_figures() -> None:
    with pytest.raises(KeyError, match="missing: gtt"):
        ers({k: v for k, v in FIGURES.items() if k != "gtt"})


def test_benign_normalised_ers_hand_computation() -> None:
    clean = dict(FIGURES, es_r=80.0, ltm=100.0, gtm=0.0, ca_plus=50.0)
    # attacked terms 80, 90, 60, 80, 50, 40, 60, 50, 40, 70; clean terms
    # 100, 90, 60, 80, 50, 40, 80, 100, 0 (left out), 70 -> ratios (%)
    # 80, 100, 100, 100, 100, 100, 75, 50, 100 over 9 terms.
    assert benign_normalised_ers(FIGURES, clean) == pytest.approx(805 / 9)
    assert benign_normalised_ers(FIGURES, FIGURES) == pytest.approx(100.0)
    zero = dict(zip(RANKING_FIGURES, (0, 100, 0, 100, 1, 2, 0, 0, 0, 0), strict=True))
    assert math.isnan(benign_normalised_ers(FIGURES, zero))
