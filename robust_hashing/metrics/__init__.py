"""Retrieval and attack metrics (protocol §5, §8): mAP@k, t-mAP, P@N, PR curve, ASR, ERS."""

from robust_hashing.metrics.attack import (
    PerceptibilityMeter,
    bit_flip_rate,
    perceptibility,
    targeted_asr,
    untargeted_asr,
)
from robust_hashing.metrics.ers import RANKING_FIGURES, benign_normalised_ers, ers, ers_terms
from robust_hashing.metrics.retrieval import (
    P_AT_N,
    ap_from_relevance,
    average_precision_per_query,
    map_from_ap,
    map_standard_error,
    mean_average_precision,
    pr_curve,
    precision_at_n,
    ranked_relevance,
    targeted_map,
)

__all__ = [
    "P_AT_N",
    "RANKING_FIGURES",
    "PerceptibilityMeter",
    "ap_from_relevance",
    "average_precision_per_query",
    "benign_normalised_ers",
    "bit_flip_rate",
    "ers",
    "ers_terms",
    "map_from_ap",
    "map_standard_error",
    "mean_average_precision",
    "perceptibility",
    "pr_curve",
    "precision_at_n",
    "ranked_relevance",
    "targeted_asr",
    "targeted_map",
    "untargeted_asr",
]
