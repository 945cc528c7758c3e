"""Greedy top-1 attacks GTM and GTT (RobRank) in Hamming space.

* GTM, greedy top-1 misranking: the attack minimises the relaxed distance of h(x′) to the
  nearest (clean stable ranking) database item sharing no label with the query, so that
  the top-1 result becomes irrelevant. RobRank picks the nearest item whose class differs
  from the clean top-1's; with multi-label data that item may still share a label with
  the query, so we take "no label in common with the query" (ours). Figure: R@1 (%).
* GTT, greedy top-1 translocation: the attack runs RobRank's QA− hinge against the clean
  top-1 database item. Figure: 100·1[the clean top-1 item is still within the top
  ``retain_k`` = 4 of x′'s stable ranking] (RobRank's ``retain@4``).

Higher is better for the defender for both figures.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking.base import (
    RankingAttack,
    hamming,
    pair_relaxed,
    recall_at_1,
    stable_order,
    stable_rank,
)
from robust_hashing.attacks.ranking.query import query_rank_loss
from robust_hashing.ops import label_overlap


@ATTACKS.register("rank_gtm")
class GreedyTop1Misrank(RankingAttack):
    """GTM: pull the query onto its nearest irrelevant database item."""

    figures: ClassVar[tuple[str, ...]] = ("gtm",)

    def select(self, clean: Tensor, labels: Tensor) -> Tensor:
        """Nearest database row sharing no label with the query (−1 if every row does)."""
        db_codes, db_labels = self.database()
        order = stable_order(hamming(clean, db_codes), db_codes.shape[0])
        irrelevant = label_overlap(labels, db_labels).gather(1, order) == 0
        first = irrelevant.float().argmax(1)
        rows = order.gather(1, first.view(-1, 1)).view(-1)
        return torch.where(irrelevant.any(1), rows, torch.full_like(rows, -1))

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """Relaxed distance to the selected item (0 where none)."""
        db_codes, _ = self.database()
        valid = selection >= 0
        dist = pair_relaxed(h, db_codes[selection.clamp_min(0)])
        return torch.where(valid, dist, torch.zeros_like(dist))

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """R@1 (%)."""
        db_codes, db_labels = self.database()
        return {"gtm": recall_at_1(codes, labels, db_codes, db_labels)}


@ATTACKS.register("rank_gtt")
class GreedyTop1Translocation(RankingAttack):
    """GTT: push the clean top-1 database item down the query's ranking.

    Args:
        *args, **kwargs: see :class:`RankingAttack`; ``retain_k`` (keyword): depth of the
            retention check (4).
    """

    figures: ClassVar[tuple[str, ...]] = ("gtt",)

    def __init__(self, *args: Any, retain_k: int = 4, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retain_k = retain_k

    def select(self, clean: Tensor, labels: Tensor) -> Tensor:
        """The clean stable top-1 database row."""
        db_codes, _ = self.database()
        return stable_order(hamming(clean, db_codes), 1)[:, 0]

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """QA− hinge with the clean top-1 item as candidate."""
        db_codes, _ = self.database()
        return query_rank_loss(h, db_codes, selection, raise_rank=False)

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """100 where the clean top-1 item stays within the top ``retain_k``, else 0."""
        db_codes, _ = self.database()
        rank = stable_rank(hamming(codes, db_codes), selection)
        return {"gtt": 100.0 * (rank < self.retain_k).double()}
