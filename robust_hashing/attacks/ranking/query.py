"""Query attacks QA+ and QA− (RobRank, M = 1) in Hamming space.

The perturbed image x′ is the query; one database item c (M = 1) is the chosen candidate.
With the relaxed distances A = d(h(x′), b_c) and B_j = d(h(x′), b_j) over the whole
database (both differentiable),

* QA+ (c drawn uniformly from the database) minimises mean_j max(0, A − B_j): c rises;
  figure: c's rank percentile in x′'s ranking (higher is better for the defender,
  benign ≈ 50);
* QA− (c drawn uniformly from the top 1% of x's clean ranking) minimises
  mean_j max(0, B_j − A): c falls; figure: the rank percentile (lower is better for the
  defender, benign ≈ 0).

Ranks follow the stable tie rule (ties by ascending database row index).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking.base import (
    RankingAttack,
    hamming,
    relaxed_distance,
    stable_rank,
)


def query_rank_loss(h: Tensor, db_codes: Tensor, rows: Tensor, *, raise_rank: bool) -> Tensor:
    """Per-query mean_j max(0, ±(A − B_j)) of RobRank's query attack with candidate ``rows``."""
    dist = relaxed_distance(h, db_codes)
    a = dist.gather(1, rows.view(-1, 1))
    gap = a - dist if raise_rank else dist - a
    return gap.clamp_min(0).mean(1)


class QueryAttack(RankingAttack):
    """QA±: perturb the query to move one database candidate in its ranking.

    Args:
        *args, **kwargs: see :class:`RankingAttack`; ``top_fraction`` (keyword, QA− only):
            the share of the clean ranking the candidate is drawn from (0.01).
    """

    raise_rank: ClassVar[bool] = True

    def __init__(self, *args: Any, top_fraction: float = 0.01, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.top_fraction = top_fraction

    def select(self, clean: Tensor, labels: Tensor) -> Tensor:
        """The candidate database row of each query."""
        return self.draw_rows(clean, None if self.raise_rank else self.top_fraction)

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """RobRank's query-attack hinge on the relaxed distances."""
        db_codes, _ = self.database()
        return query_rank_loss(h, db_codes, selection, raise_rank=self.raise_rank)

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """Rank percentile 100·rank/D of the candidate in the query's stable ranking."""
        db_codes, _ = self.database()
        rank = stable_rank(hamming(codes, db_codes), selection)
        return {self.figures[0]: 100.0 * rank.double() / db_codes.shape[0]}


@ATTACKS.register("rank_qa_plus")
class QueryAttackPlus(QueryAttack):
    """QA+ (M = 1): raise a random database candidate in the query's ranking."""

    raise_rank: ClassVar[bool] = True
    figures: ClassVar[tuple[str, ...]] = ("qa_plus",)


@ATTACKS.register("rank_qa_minus")
class QueryAttackMinus(QueryAttack):
    """QA− (M = 1): lower a candidate drawn from the query's top 1%."""

    raise_rank: ClassVar[bool] = False
    figures: ClassVar[tuple[str, ...]] = ("qa_minus",)
