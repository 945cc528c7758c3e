"""Ranking-robustness score ERS of RobRank (protocol §8) over the ten ranking-attack figures.

The ten figures (keys of :data:`RANKING_FIGURES`) are the outputs of the nine ranking
attacks of :mod:`robust_hashing.attacks.ranking`, in RobRank's units:

========  ============================================  ======================
key       figure                                        better for defender
========  ============================================  ======================
ca_plus   CA+ rank percentile of the candidate (%)      higher (benign ≈ 50)
ca_minus  CA− rank percentile of the candidate (%)      lower (benign ≈ 0)
qa_plus   QA+ rank percentile of the candidate (%)      higher (benign ≈ 50)
qa_minus  QA− rank percentile of the candidate (%)      lower (benign ≈ 0)
tma       TMA cosine similarity to the random target    lower
es_d      ES shift distance (normalised, 0–2)           lower
es_r      ES recall@1 (%)                               higher
ltm       LTM recall@1 (%)                              higher
gtm       GTM recall@1 (%)                              higher
gtt       GTT % of original top-1 kept in the top 4     higher
========  ============================================  ======================
"""

from __future__ import annotations

import math
from collections.abc import Mapping

RANKING_FIGURES: tuple[str, ...] = (
    "ca_plus",
    "ca_minus",
    "qa_plus",
    "qa_minus",
    "tma",
    "es_d",
    "es_r",
    "ltm",
    "gtm",
    "gtt",
)
"""Keys of the ten ranking-attack figures, in the order of the ERS sum."""


def ers_terms(figures: Mapping[str, float]) -> dict[str, float]:
    """The ten ERS terms, each rescaled to roughly [0, 100] (higher = more robust).

    2·CA+, 100 − CA−, 2·QA+, 100 − QA−, 100·(1 − TMA), 50·(2 − ES:D), ES:R, LTM, GTM, GTT.

    Args:
        figures: the ten figures keyed as in :data:`RANKING_FIGURES` (extra keys ignored).

    Raises:
        KeyError: naming the missing figures.
    """
    missing = [k for k in RANKING_FIGURES if k not in figures]
    if missing:
        raise KeyError(f"ERS needs the ten ranking figures; missing: {', '.join(missing)}")
    f = {k: float(figures[k]) for k in RANKING_FIGURES}
    return {
        "ca_plus": 2.0 * f["ca_plus"],
        "ca_minus": 100.0 - f["ca_minus"],
        "qa_plus": 2.0 * f["qa_plus"],
        "qa_minus": 100.0 - f["qa_minus"],
        "tma": 100.0 * (1.0 - f["tma"]),
        "es_d": 50.0 * (2.0 - f["es_d"]),
        "es_r": f["es_r"],
        "ltm": f["ltm"],
        "gtm": f["gtm"],
        "gtt": f["gtt"],
    }


def ers(figures: Mapping[str, float]) -> float:
    """Empirical Robustness Score of RobRank: the plain mean of the ten rescaled terms.

    ERS = (1/10)·[2·CA+ + (100 − CA−) + 2·QA+ + (100 − QA−) + 100·(1 − TMA)
    + 50·(2 − ES:D) + ES:R + LTM + GTM + GTT] (protocol §8). The rescaling is RobRank's:
    Zhou, Wang, Niu, Zhang, Zheng and Hua, "Adversarial Attack and Defense in Deep
    Ranking", arXiv:2106.03614 (code cdluminate/robrank). No term is clipped.

    Args:
        figures: the ten figures keyed as in :data:`RANKING_FIGURES`, in RobRank's units
            (percentages, TMA a cosine in [−1, 1], ES:D in [0, 2]).

    Returns:
        ERS, roughly in [0, 100].
    """
    return sum(ers_terms(figures).values()) / len(RANKING_FIGURES)


def benign_normalised_ers(figures: Mapping[str, float], clean: Mapping[str, float]) -> float:
    """ERS-BN **(ours)**: the mean over the ten terms of 100·term(attacked)/term(clean).

    Each ERS term (:func:`ers_terms`) is divided by the same term computed from the same
    model's figures on clean (unattacked) inputs with the same query/candidate draws; terms
    whose clean value is 0 are left out of the mean (NaN if all are). 100 means no
    degradation at all. Not part of RobRank or CA-TRIDE.

    Args:
        figures: the ten figures under attack.
        clean: the ten figures of the same model on clean inputs.
    """
    attacked, benign = ers_terms(figures), ers_terms(clean)
    ratios = [100.0 * attacked[k] / benign[k] for k in RANKING_FIGURES if benign[k] != 0.0]
    return sum(ratios) / len(ratios) if ratios else math.nan
