"""Learning-to-misrank LTM (Chen et al., arXiv:2004.04199; RobRank's port) in Hamming space.

With relaxed distances d_j = d(h(x′), b_j) to the database, P the items sharing a label
with the query and N the others, the attack minimises max(0, max_N d_j − min_P d_j):
every irrelevant item is pulled in front of every relevant one (no margin, as RobRank).
A query with an empty P or N has zero loss. Figure: R@1 (%) of x′ (higher is better for
the defender).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking.base import RankingAttack, recall_at_1, relaxed_distance
from robust_hashing.ops import label_overlap


@ATTACKS.register("rank_ltm")
class LearningToMisrank(RankingAttack):
    """LTM: bring the farthest irrelevant item before the nearest relevant one."""

    figures: ClassVar[tuple[str, ...]] = ("ltm",)

    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """max(0, max_N d_j − min_P d_j) per query."""
        db_codes, db_labels = self.database()
        dist = relaxed_distance(h, db_codes)
        pos = label_overlap(labels, db_labels).bool()
        inf = torch.full_like(dist, float("inf"))
        far_neg = torch.where(pos, -inf, dist).amax(1)
        near_pos = torch.where(pos, dist, inf).amin(1)
        gap = far_neg - near_pos
        return torch.where(torch.isfinite(gap), gap.clamp_min(0), torch.zeros_like(gap))

    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """R@1 (%)."""
        db_codes, db_labels = self.database()
        return {"ltm": recall_at_1(codes, labels, db_codes, db_labels)}
