"""Embedding shift ES (RobRank) in Hamming space: two figures, a distance and a recall.

The attack maximises the relaxed Hamming distance of h(x′) to the clean code b(x)
(RobRank maximises ‖f(x′) − f(x)‖). Figures:

* ES:D, the shift of the normalised codes ‖b(x′) − b(x)‖/√K = 2·√(D_H/K) in [0, 2]
  (lower is better for the defender);
* ES:R, R@1 (%) of x′ against the database: the stable top-1 item shares a label with
  the query (higher is better). Queries are not database items, so no self-match is
  dropped (RobRank drops it).
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking.base import (
    RankingAttack,
    pair_hamming,
    pair_relaxed,
    recall_at_1,
)


@ATTACKS.register("rank_es")
class EmbeddingShift(RankingAttack):
    """ES: push the query's code away from its clean code."""

    figures: ClassVar[tuple[str, ...]] = ("es_d", "es_r")

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """Minus the relaxed Hamming distance to the clean code."""
        return -pair_relaxed(h, clean)

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """ES:D = 2·√(D_H(b(x′), b(x))/K) and ES:R = R@1 (%)."""
        db_codes, db_labels = self.database()
        shift = pair_hamming(codes, clean).double() / codes.shape[1]
        return {
            "es_d": 2.0 * shift.sqrt(),
            "es_r": recall_at_1(codes, labels, db_codes, db_labels),
        }
