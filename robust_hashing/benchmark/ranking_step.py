"""The ``ranking`` step: RobRank's nine ranking attacks on one defended model (protocol §8).

:func:`~robust_hashing.attacks.ranking.evaluate_ranking` attacks the first ``max_queries``
query-split images with each ranking attack, the candidate set being the defended model's
database (the roles of ``docs/ranking.md``), and scores the same draws on the clean
queries. The result holds the ten figures, their clean values, ERS, ERS of the clean
figures, ERS-BN, the clean R@1 and mAP@k of the same queries, the threat model, each
attack's effective hyper-parameters and every query's values (protocol v2); the figures
are also logged to the cell's loggers (CSV, wandb) under ``ranking/``. A figure that is
not a number fails the cell (it is not cached).
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
from lightning.pytorch.loggers import Logger
from torch import Tensor

from robust_hashing.benchmark.cell_types import RankingConfig, RankingInfo
from robust_hashing.benchmark.spec import CellSpec
from robust_hashing.benchmark.steps import attack_setup
from robust_hashing.io import write_json_atomic


def _values(values: Tensor) -> list[float | None]:
    """A per-query series as JSON numbers (NaN as null)."""
    return [None if math.isnan(v) else v for v in values.double().tolist()]


def _threat(attacks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The common ℓ∞ budget of the attacks (they must share one)."""
    budgets = {round(float(hp["eps"]), 9) for hp in attacks.values()}
    if len(budgets) != 1:
        raise ValueError(f"the ranking attacks must share one ε, got {sorted(budgets)}")
    return {"norm": "linf", "eps": budgets.pop()}


def run_ranking(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """Run the nine ranking attacks on the cell's defended model (module docstring)."""
    from robust_hashing.attacks.ranking import evaluate_ranking
    from robust_hashing.metrics.ers import RANKING_FIGURES

    cfg = spec.cell.part(RankingConfig)
    L.seed_everything(spec.runtime.seed, workers=True)
    model, dm, context, trainer = attack_setup(spec, loggers)
    model.to(trainer.strategy.root_device)
    hp = {name: cfg.hp[name] for name in cfg.attacks}
    report = evaluate_ranking(
        model, dm.query_dataloader(cfg.max_queries), context, attacks=list(cfg.attacks),
        attack_hp=hp, top_k=cfg.top_k,
    )  # fmt: skip
    summary = report.summary()
    bad = [k for k in (*RANKING_FIGURES, "ers", "recall_at_1") if not math.isfinite(summary[k])]
    if bad:
        raise FloatingPointError(f"ranking figures that are not numbers: {', '.join(bad)}")
    per_query: dict[str, Any] = {"idx": report.indices.tolist()}
    per_query.update({k: _values(v) for k, v in report.per_query.items()})
    per_query.update({f"clean_{k}": _values(v) for k, v in report.per_query_clean.items()})
    per_query.update(
        recall_at_1=_values(report.recall_at_1_per_query), ap=_values(report.ap_per_query)
    )
    attack_hp = spec.cell.part(RankingInfo).attack_hp or hp
    result: dict[str, Any] = {
        **{k: (None if math.isnan(v) else v) for k, v in summary.items()},
        "n_queries": int(report.indices.numel()), "top_k": cfg.top_k,
        "threat": _threat(attack_hp), "attack_hp": attack_hp, "per_query": per_query,
    }  # fmt: skip
    for logger in loggers:
        logger.log_metrics({f"ranking/{k}": v for k, v in summary.items() if math.isfinite(v)})
    write_json_atomic(spec.cell.dir / "report.json", result)
    return result
