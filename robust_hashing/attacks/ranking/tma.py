"""Targeted mismatch attack TMA (Tolias et al., ICCV 2019; RobRank's port) in Hamming space.

Each query draws a uniformly random database item r; the attack minimises the relaxed
Hamming distance of h(x′) to b_r (RobRank minimises 1 − cos on real embeddings).
Figure: the cosine similarity of the ±1 codes, cos(b(x′), b_r) = 1 − 2·D_H/K (lower is
better for the defender; benign ≈ 0).
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking.base import RankingAttack, pair_hamming, pair_relaxed


@ATTACKS.register("rank_tma")
class TargetedMismatch(RankingAttack):
    """TMA: pull the query's code onto a random database item's code."""

    figures: ClassVar[tuple[str, ...]] = ("tma",)

    def select(self, clean: Tensor, labels: Tensor) -> Tensor:
        """A uniformly random database row per query."""
        return self.draw_rows(clean, None)

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """Relaxed Hamming distance to the drawn item's code."""
        db_codes, _ = self.database()
        return pair_relaxed(h, db_codes[selection])

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """Cosine similarity 1 − 2·D_H/K to the drawn item's code."""
        db_codes, _ = self.database()
        dist = pair_hamming(codes, db_codes[selection]).double()
        return {"tma": 1.0 - 2.0 * dist / codes.shape[1]}
