"""Ranking cells: RobRank's ranking protocol (protocol §8) on every defended model.

A grid asks for it with the top-level key ``ranking``::

    ranking: true                          # or a mapping:
    ranking: {hp: {steps: 10}, max_queries: 40}

``hp`` goes to each of the nine ranking attacks (over their ``quick`` dict in the quick
profile), ``max_queries`` attacks only the first N queries (default: the grid's
``max_queries``; the leaderboard shows it as ``ranking_n_queries`` in the defended model's
row). One ``ranking`` cell per defended model then runs all nine attacks
(:mod:`robust_hashing.benchmark.ranking_step`) and its record goes to the leaderboard
folder's ``ranking/`` tree (:mod:`robust_hashing.leaderboard.ranking`), never into the
mAP worst case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.grid import Grid, grid_error

if TYPE_CHECKING:
    from robust_hashing.benchmark.cells import Cell
    from robust_hashing.leaderboard.ranking import RankingResult

RANKING_KEYS = ("hp", "max_queries")


@dataclass(frozen=True)
class RankingSpec:
    """The grid's ``ranking`` entry: hyper-parameters of every ranking attack, query count."""

    hp: dict[str, Any] = field(default_factory=dict)
    max_queries: int | None = None


def parse_ranking(value: Any, source: str) -> RankingSpec | None:
    """The grid's ``ranking`` value: absent/``false`` → None, ``true`` or a mapping → a spec.

    Raises:
        GridError: naming ``source`` and the key.
    """
    if value is None or value is False:
        return None
    if value is True:
        return RankingSpec()
    if not isinstance(value, Mapping):
        raise grid_error(source, "ranking", f"expected true, false or a mapping, got {value!r}")
    extra = sorted(set(value) - set(RANKING_KEYS))
    if extra:
        raise grid_error(source, f"ranking.{extra[0]}", f"unknown key (allowed: {RANKING_KEYS})")
    hp = value.get("hp") or {}
    if not isinstance(hp, Mapping):
        raise grid_error(source, "ranking.hp", f"expected a mapping, got {hp!r}")
    queries = value.get("max_queries")
    if queries is not None and (
        isinstance(queries, bool) or not isinstance(queries, int) or queries <= 0
    ):
        raise grid_error(
            source, "ranking.max_queries", f"expected a positive integer, got {queries!r}"
        )
    return RankingSpec(dict(hp), queries)


def ranking_classes() -> dict[str, Any]:
    """The nine ranking attack classes by registry name (the protocol's fixed set)."""
    from robust_hashing.attacks import ATTACKS
    from robust_hashing.attacks.ranking import RANKING_ATTACKS

    return {name: ATTACKS.get(name) for name in RANKING_ATTACKS}


def check_ranking(grid: Grid, spec: RankingSpec) -> None:
    """Every ``ranking.hp`` key must be accepted by the ranking attacks (and well typed).

    Raises:
        GridError: naming the grid file and the key.
    """
    from robust_hashing.benchmark.catalog import RUNNER_ATTACK_ARGS, _check_hp

    for name, cls in ranking_classes().items():
        _check_hp(grid.source, "ranking.hp", f"ranking attack {name!r}", spec.hp, cls, (),
                  RUNNER_ATTACK_ARGS)  # fmt: skip


def ranking_cells(grid: Grid, cache: ArtefactCache, block: list[Cell]) -> list[Cell]:
    """One ``ranking`` cell per defended model of a clean model's ``block`` (grid asks)."""
    from dataclasses import replace

    from robust_hashing.benchmark.catalog import class_digest, resolve_hp
    from robust_hashing.benchmark.cell_types import Cell, RankingConfig, RankingInfo
    from robust_hashing.effective_hp import resolved_hp

    spec: RankingSpec | None = getattr(grid, "ranking", None)
    if spec is None:
        return []
    classes = ranking_classes()
    hp = {  # the grid's seed draws the queries' candidates unless ``ranking.hp`` sets one
        name: {"seed": grid.seed, **resolve_hp(cls, spec.hp, grid.profile)}
        for name, cls in classes.items()
    }
    config = RankingConfig(
        attacks=tuple(classes), hp=hp, top_k=grid.top_k,
        max_queries=spec.max_queries or grid.max_queries,
        code=tuple(sorted({class_digest(cls) for cls in classes.values()})),
    )  # fmt: skip
    task = RankingInfo({name: resolved_hp(cls, hp[name]) for name, cls in classes.items()})
    out = []
    for defense in (c for c in block if c.kind == "defense"):
        cell = Cell("", cache.root, defense.victim, config, defense.defense, task, (defense.id,))
        key = cache.key("ranking", cell.hashed_config(), [defense.key], grid.seed)
        out.append(replace(cell, key=key, dir=cache.path("ranking", key)))
    return out


def ranking_record(cell: Cell, payload: dict[str, Any], grid: Grid) -> RankingResult:
    """Leaderboard record of a finished ranking cell (its ``done.json`` payload)."""
    from robust_hashing.leaderboard.ranking import FIGURE_KEYS, RankingResult
    from robust_hashing.leaderboard.schema import Provenance

    report, meta = payload["result"], cell.meta
    return RankingResult(
        dataset=meta["dataset"],
        bits=int(meta["bits"]),
        backbone=grid.backbone,
        method=grid.method,
        defense=meta["defense"],
        profile=grid.profile,
        top_k=None if report.get("top_k") is None else int(report["top_k"]),
        n_queries=int(report["n_queries"]),
        threat=report["threat"],
        figures={k: report[k] for k in FIGURE_KEYS},
        clean_figures={k: report[f"clean_{k}"] for k in FIGURE_KEYS},
        ers=report["ers"],
        ers_clean=report["ers_clean"],
        ers_bn=report.get("ers_bn"),
        recall_at_1=report["recall_at_1"],
        map=report.get("map"),
        attack_hp=report.get("attack_hp") or meta.get("attack_hp") or {},
        defense_hp=meta.get("defense_hp") or {"name": meta["defense"]},
        per_query=report.get("per_query"),
        provenance=Provenance.measured(cell.key, payload),
    )
