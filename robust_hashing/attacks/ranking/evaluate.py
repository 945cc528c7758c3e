"""Run the nine ranking attacks on a query set: ten figures, per-query values, ERS (§8).

:func:`evaluate_ranking` attacks every query batch with each ranking attack, scores the
adversarial codes and, with the same query/candidate draws, the clean codes (RobRank's
"original" row), and returns a :class:`RankingReport` holding every query's values keyed by
query dataset index, with the clean R@1 and mAP beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS, AttackContext
from robust_hashing.attacks.ranking.base import RankingAttack, recall_at_1
from robust_hashing.metrics.ers import RANKING_FIGURES, benign_normalised_ers, ers
from robust_hashing.metrics.retrieval import average_precision_per_query, map_from_ap
from robust_hashing.models import HashNet

RANKING_ATTACKS: tuple[str, ...] = (
    "rank_ca_plus",
    "rank_ca_minus",
    "rank_qa_plus",
    "rank_qa_minus",
    "rank_tma",
    "rank_es",
    "rank_ltm",
    "rank_gtm",
    "rank_gtt",
)
"""Registry names of the nine ranking attacks (ES yields two figures: ten in all)."""


def _mean(values: Tensor) -> float:
    return float(values.double().mean()) if values.numel() else float("nan")


@dataclass
class RankingReport:
    """Per-query results of :func:`evaluate_ranking` and their aggregates.

    Attributes:
        indices: query dataset indices (int64), in loader order.
        per_query: figure key → attacked value of each query (float64, aligned with
            ``indices``).
        per_query_clean: figure key → the same figure on the clean query with the same draw.
        recall_at_1_per_query: clean R@1 (%) of each query against the database.
        ap_per_query: clean AP@k of each query (NaN: no relevant item in its top k).
        top_k: the k of the AP (None: full ranking).
    """

    indices: Tensor
    per_query: dict[str, Tensor] = field(default_factory=dict)
    per_query_clean: dict[str, Tensor] = field(default_factory=dict)
    recall_at_1_per_query: Tensor = field(default_factory=lambda: torch.empty(0))
    ap_per_query: Tensor = field(default_factory=lambda: torch.empty(0))
    top_k: int | None = 5000

    @property
    def figures(self) -> dict[str, float]:
        """Mean attacked figure over the queries, per key."""
        return {k: _mean(v) for k, v in self.per_query.items()}

    @property
    def clean_figures(self) -> dict[str, float]:
        """Mean clean figure over the queries, per key."""
        return {k: _mean(v) for k, v in self.per_query_clean.items()}

    @property
    def ers(self) -> float:
        """RobRank's ERS of the attacked figures (needs all ten)."""
        return ers(self.figures)

    @property
    def ers_clean(self) -> float:
        """ERS of the clean figures (the unattacked reference)."""
        return ers(self.clean_figures)

    @property
    def ers_bn(self) -> float:
        """Benign-normalised ERS (ours): :func:`~robust_hashing.metrics.ers.benign_normalised_ers`."""
        return benign_normalised_ers(self.figures, self.clean_figures)

    @property
    def recall_at_1(self) -> float:
        """Clean R@1 (%) over the queries."""
        return _mean(self.recall_at_1_per_query)

    @property
    def map(self) -> float:
        """Clean mAP@k over the queries (convention (a))."""
        return map_from_ap(self.ap_per_query)

    def summary(self) -> dict[str, float]:
        """Flat record of the aggregates.

        The figures, ``clean_<key>``, ``ers``, ``ers_clean``, ``ers_bn`` (only when all ten
        figures are present), ``recall_at_1`` and ``map``.
        """
        out = dict(self.figures)
        out.update({f"clean_{k}": v for k, v in self.clean_figures.items()})
        if all(k in self.per_query for k in RANKING_FIGURES):
            out.update(ers=self.ers, ers_clean=self.ers_clean, ers_bn=self.ers_bn)
        out.update(recall_at_1=self.recall_at_1, map=self.map)
        return out


def build_ranking_attack(
    name: str,
    model: HashNet,
    context: AttackContext,
    *,
    quick: bool = False,
    **hp: Any,
) -> RankingAttack:
    """The ranking attack ``name`` with its ``quick`` overrides (if asked) under ``hp``.

    Raises:
        TypeError: if ``name`` is not a ranking attack.
    """
    cls = ATTACKS.get(name)
    if not issubclass(cls, RankingAttack):
        raise TypeError(f"attack {name!r} is not a ranking attack")
    return cast(RankingAttack, cls(model, context, **{**(cls.quick if quick else {}), **hp}))


@torch.no_grad()
def _encode(model: HashNet, images: Tensor) -> Tensor:
    return model.encode(images)


def evaluate_ranking(
    model: HashNet,
    queries: Iterable[Any],
    context: AttackContext,
    *,
    attacks: Iterable[str] = RANKING_ATTACKS,
    quick: bool = False,
    hp: Mapping[str, Any] | None = None,
    attack_hp: Mapping[str, Mapping[str, Any]] | None = None,
    top_k: int | None = 5000,
) -> RankingReport:
    """Attack every query with each ranking attack and score it (protocol §8).

    Args:
        model: the attacked hash network (put in eval mode, restored afterwards).
        queries: batches ``(images, labels, dataset indices)``, e.g. the query DataLoader.
        context: the attacked model's context; its database is the candidate set.
        attacks: ranking attack names (default: all nine).
        quick: build each attack with its ``quick`` overrides.
        hp: hyper-parameters given to every attack (e.g. ``seed``, ``eps``, ``steps``).
        attack_hp: per-attack hyper-parameters, over ``hp``.
        top_k: depth of the clean mAP (protocol headline 5000; None = full ranking).

    Returns:
        The per-query values and their aggregates.
    """
    names = tuple(attacks)
    built = {
        n: build_ranking_attack(
            n, model, context, quick=quick, **{**(hp or {}), **(attack_hp or {}).get(n, {})}
        )
        for n in names
    }
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    idx_parts: list[Tensor] = []
    codes_parts: list[Tensor] = []
    label_parts: list[Tensor] = []
    adv_parts: dict[str, list[Tensor]] = {}
    clean_parts: dict[str, list[Tensor]] = {}
    try:
        for batch in queries:
            images, labels, idx = batch[0].to(device), batch[1].float().to(device), batch[2]
            clean = _encode(model, images)
            idx_parts.append(torch.as_tensor(idx).long().cpu().view(-1))
            codes_parts.append(clean.cpu())
            label_parts.append(labels.cpu())
            for attack in built.values():
                adv = attack(images, labels)
                selection = attack.last_selection
                assert selection is not None
                adv_codes = _encode(model, adv)
                for k, v in attack.score(adv_codes, clean, labels, selection).items():
                    adv_parts.setdefault(k, []).append(v.double().cpu())
                for k, v in attack.score(clean, clean, labels, selection).items():
                    clean_parts.setdefault(k, []).append(v.double().cpu())
    finally:
        model.train(was_training)
    if not idx_parts:
        raise ValueError("the query set is empty")
    codes, labels_all = torch.cat(codes_parts), torch.cat(label_parts)
    db_codes, db_labels = context.db_codes.float().cpu(), context.db_labels.float().cpu()
    return RankingReport(
        indices=torch.cat(idx_parts),
        per_query={k: torch.cat(v) for k, v in adv_parts.items()},
        per_query_clean={k: torch.cat(v) for k, v in clean_parts.items()},
        recall_at_1_per_query=recall_at_1(codes, labels_all, db_codes, db_labels),
        ap_per_query=average_precision_per_query(codes, db_codes, labels_all, db_labels, top_k),
        top_k=top_k,
    )
