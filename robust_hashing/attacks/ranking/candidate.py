"""Candidate attacks CA+ and CA− (RobRank, W = 1) in Hamming space.

The perturbed image x is a candidate; one database item q (W = 1) acts as the query.
With A = the relaxed distance of h(x′) to b_q and B_j = D_H(b_q, b_j) for the other
database items j ≠ q (fixed),

* CA+ (q drawn uniformly from the database) minimises mean_j max(0, A − B_j): x′ rises
  in q's ranking; figure: x′'s rank percentile (higher is better for the defender,
  benign ≈ 50);
* CA− (q drawn uniformly from the top 1% of x's own clean ranking, an approximation of
  "x is in q's top 1%" as in RobRank) minimises mean_j max(0, B_j − A): x′ falls;
  figure: the rank percentile (lower is better for the defender, benign ≈ 0).

x′ is ranked among the database items other than q as if appended as row D (after ties;
``ties="mid"`` counts half of the ties ahead instead, ours).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking.base import (
    TIE_RULES,
    RankingAttack,
    hamming,
    insertion_rank,
    pair_hamming,
    pair_relaxed,
)


class CandidateAttack(RankingAttack):
    """CA±: perturb a candidate to move it in one database query's ranking.

    Args:
        *args, **kwargs: see :class:`RankingAttack`; keywords ``top_fraction`` (CA− only):
            the share of x's clean ranking the query is drawn from (0.01); ``ties``: where
            the candidate ranks among database items at its distance, ``"last"`` (the
            stable rule, as database row D) or ``"mid"`` (half of them ahead, ours).
    """

    raise_rank: ClassVar[bool] = True

    def __init__(
        self, *args: Any, top_fraction: float = 0.01, ties: str = "last", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if ties not in TIE_RULES:
            raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
        self.top_fraction, self.ties = top_fraction, ties

    def select(self, clean: Tensor, labels: Tensor) -> Tensor:
        """The database row acting as the query of each candidate."""
        return self.draw_rows(clean, None if self.raise_rank else self.top_fraction)

    def _others(self, selection: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Query codes, their distances to the database and the mask of rows j ≠ q."""
        db_codes, _ = self.database()
        queries = db_codes[selection]
        mask = torch.ones(len(selection), db_codes.shape[0], device=db_codes.device)
        mask.scatter_(1, selection.view(-1, 1), 0.0)
        return queries, hamming(queries, db_codes), mask

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """mean_j max(0, ±(A − B_j)) over the database rows j ≠ q."""
        queries, b, mask = self._others(selection)
        a = pair_relaxed(h, queries).view(-1, 1)
        gap = a - b.to(h) if self.raise_rank else b.to(h) - a
        return (gap.clamp_min(0) * mask).sum(1) / mask.sum(1).clamp_min(1)

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """Rank percentile 100·rank/D of the candidate in its query's ranking."""
        queries, b, _ = self._others(selection)
        cand = pair_hamming(codes, queries)
        rank = insertion_rank(b, cand, selection, self.ties)
        return {self.figures[0]: 100.0 * rank / b.shape[1]}


@ATTACKS.register("rank_ca_plus")
class CandidateAttackPlus(CandidateAttack):
    """CA+ (W = 1): raise a candidate in a random database item's ranking."""

    raise_rank: ClassVar[bool] = True
    figures: ClassVar[tuple[str, ...]] = ("ca_plus",)


@ATTACKS.register("rank_ca_minus")
class CandidateAttackMinus(CandidateAttack):
    """CA− (W = 1): lower a candidate in the ranking of one of its top-1% database items."""

    raise_rank: ClassVar[bool] = False
    figures: ClassVar[tuple[str, ...]] = ("ca_minus",)
