"""Sweep cells: the transfer track and the robustness curve of each defended model.

One ``sweep`` cell per defended model of a (dataset, bits) block, planned when the grid
has the undefended model ``none`` and at least one bounded untargeted attack. It depends
on its defense cell, on every bounded untargeted attack cell of ``none`` (their adversarial
queries are the transfer examples, their figures choose the curve's attack) and on the same
attack cells of its own model (the figure at the grid's ε is reused, not re-measured). What
it runs is :mod:`robust_hashing.benchmark.sweep`.
"""

from __future__ import annotations

from dataclasses import replace

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cell_types import (
    AttackConfig,
    AttackInfo,
    Cell,
    DefenseInfo,
    SweepConfig,
    SweepInfo,
)
from robust_hashing.benchmark.grid import Grid

CURVE_EPS = (2 / 255, 4 / 255, 8 / 255, 16 / 255)  # the ε of the robustness curve
SOURCE = "none"  # the model the transfer examples are crafted on


def _bounded_untargeted(cells: list[Cell], defense: Cell) -> dict[str, Cell]:
    return {
        c.task.name: c
        for c in cells
        if isinstance(c.task, AttackInfo)
        and c.deps[:1] == (defense.id,)
        and not c.task.targeted
        and c.task.bounded
    }


def sweep_cells(grid: Grid, cache: ArtefactCache, block: list[Cell]) -> list[Cell]:
    """The sweep cells of one clean model's ``block`` of cells (empty without ``none``)."""
    defenses = [c for c in block if c.kind == "defense"]
    source = next((c for c in defenses if c.part(DefenseInfo).id == SOURCE), None)
    if source is None:
        return []
    source_attacks = _bounded_untargeted(block, source)
    if not source_attacks:
        return []
    out = []
    for defense in defenses:
        own = _bounded_untargeted(block, defense)
        config = SweepConfig(CURVE_EPS, grid.top_k, grid.max_queries, SOURCE)
        upstream = [defense.key, *(c.key for c in source_attacks.values())]
        upstream += [c.key for c in own.values()]
        task = SweepInfo(
            source_attacks={name: c.key for name, c in sorted(source_attacks.items())},
            own_attacks={name: c.key for name, c in sorted(own.items())},
            attack_hp={name: c.part(AttackConfig).hp for name, c in sorted(source_attacks.items())},
        )
        deps = (defense.id, *(c.id for c in source_attacks.values()))
        deps += tuple(c.id for c in own.values() if c.id not in deps)
        cell = Cell("", cache.root, defense.victim, config, defense.defense, task, deps)
        key = cache.key("sweep", cell.hashed_config(), upstream, grid.seed)
        out.append(replace(cell, key=key, dir=cache.path("sweep", key)))
    return out
