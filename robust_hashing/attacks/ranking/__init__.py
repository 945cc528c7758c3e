"""RobRank's ranking attacks ported to Hamming space, and their evaluation (protocol §8).

Nine attacks, registered as ``rank_*`` (``list_attacks("rank_*")``): CA+ and CA−
(:mod:`.candidate`), QA+ and QA− (:mod:`.query`), TMA (:mod:`.tma`), ES (:mod:`.es`, two
figures), LTM (:mod:`.ltm`), GTM and GTT (:mod:`.greedy`). :func:`evaluate_ranking` runs
them all on a query set and returns the ten figures, their per-query values and ERS
(:func:`robust_hashing.metrics.ers.ers`). Roles, ranking rule and engine:
:mod:`.base`; documentation: ``docs/ranking.md``.
"""

from robust_hashing.attacks.ranking import candidate, es, greedy, ltm, query, tma
from robust_hashing.attacks.ranking.base import RankingAttack
from robust_hashing.attacks.ranking.evaluate import (
    RANKING_ATTACKS,
    RankingReport,
    evaluate_ranking,
)

__all__ = [
    "RANKING_ATTACKS",
    "RankingAttack",
    "RankingReport",
    "candidate",
    "es",
    "evaluate_ranking",
    "greedy",
    "ltm",
    "query",
    "tma",
]
