"""The benchmark's artefact graph: clean model → defended model → attack cell → sweep.

A ``sweep`` cell per defended model (transfer track and robustness curve) depends on its
defense cell and on attack cells of ``none`` and of its own model
(:mod:`robust_hashing.benchmark.sweep_plan`).

:func:`plan` expands a :class:`~robust_hashing.benchmark.grid.Grid` into :class:`Cell` s
(typed: :mod:`robust_hashing.benchmark.cell_types`) in dependency order. Each cell knows its
cache key (hashed config + upstream keys + code version + seed), its folder and the cells it
depends on. What a cell *does* lives in
:mod:`robust_hashing.benchmark.steps`; which defenses and attacks exist comes from a
:class:`~robust_hashing.benchmark.catalog.Catalog` (the registries by default, a fake in
tests).
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from typing import Any

from robust_hashing.benchmark.cache import ArtefactCache, config_hash
from robust_hashing.benchmark.catalog import (
    RUNNER_DEFENSE_ARGS,
    TRAINER_HP,
    Catalog,
    check_grid,
    class_digest,
    resolve_hp,
    supported_modes,
)
from robust_hashing.benchmark.cell_types import (
    AttackConfig,
    AttackInfo,
    Cell,
    CleanConfig,
    DefenseConfig,
    DefenseInfo,
    Victim,
)
from robust_hashing.benchmark.data_key import with_image_digest
from robust_hashing.benchmark.grid import AttackSpec, DefenseSpec, Grid
from robust_hashing.benchmark.ranking_plan import ranking_cells
from robust_hashing.benchmark.sweep_plan import sweep_cells
from robust_hashing.effective_hp import SKIPPED_HP, resolved_hp


class SelectionError(ValueError):
    """``--only`` matched no cell of the grid."""


__all__ = [  # Cell is defined in cell_types and re-exported here, where the graph is planned
    "Cell", "SelectionError", "attack_cell_id", "data_identity", "expand_attacks",
    "expand_defenses", "plan", "select", "skipped_victims", "victim_id", "victim_skip_reason",
]  # fmt: skip


def expand_defenses(grid: Grid, catalog: Catalog) -> list[DefenseSpec]:
    """The grid's defenses, ``all`` expanded to every registered name but sanity baselines.

    A defense class with ``in_all = False`` (e.g. ``noise_aug``) runs only when named.
    """
    if grid.defenses is not None:
        return list(grid.defenses)
    names = catalog.defenses()
    return [DefenseSpec(n) for n in names if getattr(catalog.defense_class(n), "in_all", True)]


def expand_attacks(grid: Grid, catalog: Catalog) -> list[tuple[AttackSpec, str]]:
    """(attack, mode) pairs; an attack without a mode runs in each supported mode.

    The names and modes are assumed valid (:func:`check_grid`). ``all`` leaves out attack
    classes with ``in_all = False`` (sanity baselines such as ``noise``).
    """
    specs: tuple[AttackSpec, ...] | list[AttackSpec]
    if grid.attacks is not None:
        specs = grid.attacks
    else:
        names = catalog.attacks()
        specs = [AttackSpec(n) for n in names if getattr(catalog.attack_class(n), "in_all", True)]
    out: list[tuple[AttackSpec, str]] = []
    for spec in specs:
        modes = supported_modes(catalog.attack_class(spec.name))
        out.extend((spec, m) for m in ([spec.mode] if spec.mode else modes))
    return out


def victim_id(dataset: str, bits: int, method: str, backbone: str) -> str:
    """``<dataset>-<bits>bit-<method>-<backbone>``: the clean model's part of every cell id."""
    return f"{dataset}-{bits}bit-{method}-{backbone}"


def attack_cell_id(defense_id: str, attack: str, mode: str) -> str:
    """``attack/<victim>/<defense>/<attack>[-targeted]``: id of an attack cell.

    ``defense_id`` is the id of the defense cell whose model is attacked.
    """
    suffix = "-targeted" if mode == "targeted" else ""
    return f"attack/{defense_id.split('/', 1)[1]}/{attack}{suffix}"


def victim_skip_reason(grid: Grid, catalog: Catalog, bits: int) -> str | None:
    """Why the grid's victim method cannot be trained at ``bits`` bits, or None.

    Asks the loss class's ``unsupported_bits`` (e.g. CSQ needs a power-of-2 K, so its
    48-bit cells are skipped, algorithms §2). An unknown method is not skipped here:
    :func:`check_grid` rejects it.
    """
    check = getattr(catalog.loss_class(grid.method), "unsupported_bits", None)
    return check(bits) if check is not None else None


def skipped_victims(grid: Grid, catalog: Catalog) -> list[str]:
    """One line per clean model of the grid that :func:`plan` leaves out, with the reason."""
    return [
        f"clean/{victim_id(ds.name, bits, grid.method, grid.backbone)} and the cells that "
        f"depend on it: {reason}"
        for ds in grid.datasets
        for bits in grid.bits
        if (reason := victim_skip_reason(grid, catalog, bits)) is not None
    ]


def data_identity(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The dataset part of a clean model's key (and of the stored targets' name).

    The data module's ``content_identity`` of ``kwargs``: where the data lives (``root``) is
    left out and the list files' digest put in, so the same lists elsewhere (another
    machine, a maintainer's re-run) give the same key. ``kwargs`` as given for a data
    module without one.
    """
    from robust_hashing.datamodules import DATAMODULES

    identity = (
        getattr(DATAMODULES.get(name), "content_identity", None) if name in DATAMODULES else None
    )
    return identity(dict(kwargs)) if identity is not None else dict(kwargs)


def _clean_cell(grid: Grid, cache: ArtefactCache, ds: Any, bits: int) -> Cell:
    trainer = grid.trainer
    config = CleanConfig(
        hp=grid.victim_hp,
        trainer={
            "max_epochs": trainer["clean_epochs"],
            "precision": trainer["precision"],
            "limit_train_batches": trainer.get("limit_train_batches"),
        },
    )
    identity = with_image_digest(
        data_identity(ds.name, ds.kwargs), ds.kwargs, cache.data_memo, cache.rehash
    )
    dataset_id = f"{ds.name}-{config_hash(identity, 8)}"
    victim = Victim(ds.name, ds.kwargs, dataset_id, grid.method, grid.backbone, bits)
    cell = Cell("", cache.root, victim, config)
    # the key hashes the data's identity instead of where it lives
    key = cache.key("clean", {**cell.hashed_config(), "dataset_kwargs": identity}, [], grid.seed)
    return replace(cell, key=key, dir=cache.path("clean", key))


def _defense_cell(
    grid: Grid, cache: ArtefactCache, clean: Cell, spec: DefenseSpec, cls: Any
) -> Cell:
    hp = resolve_hp(cls, spec.hp, grid.profile)
    trainer = {k: hp.pop(k) for k in TRAINER_HP if k in hp}
    trainer.setdefault("max_epochs", grid.trainer["defense_epochs"])
    trainer["precision"] = grid.trainer["precision"]
    config = DefenseConfig(hp, trainer, class_digest(cls))
    full_hp = resolved_hp(cls, {**hp, **trainer}, (*SKIPPED_HP, *RUNNER_DEFENSE_ARGS))
    defense = DefenseInfo(spec.name, spec.alias, full_hp)
    devices = grid.trainer["devices"] if isinstance(grid.trainer["devices"], int) else 1
    cell = Cell(
        "", cache.root, clean.victim, config, defense, deps=(clean.id,),
        devices=devices if spec.name != "none" else 1,
    )  # fmt: skip
    key = cache.key("defense", cell.hashed_config(), [clean.key], grid.seed)
    return replace(cell, key=key, dir=cache.path("defense", key))


def _attack_cell(
    grid: Grid, cache: ArtefactCache, defense: Cell, spec: AttackSpec, mode: str, cls: Any
) -> Cell:
    hp = resolve_hp(cls, spec.hp, grid.profile)
    config = AttackConfig(hp, grid.top_k, grid.max_queries, class_digest(cls))
    attack = AttackInfo(spec.name, mode, resolved_hp(cls, hp), bool(getattr(cls, "bounded", True)))
    cell = Cell("", cache.root, defense.victim, config, defense.defense, attack, (defense.id,))
    key = cache.key("attack", cell.hashed_config(), [defense.key], grid.seed)
    return replace(cell, key=key, dir=cache.path("attack", key))


def plan(grid: Grid, cache: ArtefactCache, catalog: Catalog, only: str | None = None) -> list[Cell]:
    """Expand ``grid`` into cells in dependency order (clean, defenses, attacks, sweeps).

    Args:
        grid: the validated grid (plugins already imported).
        cache: where artefacts live; determines each cell's folder.
        catalog: registered defenses and attacks.
        only: optional substring or fnmatch pattern on cell ids (see :func:`select`);
            matching cells plus everything they depend on are kept.

    Code lengths the victim's loss cannot train (:func:`victim_skip_reason`) get no cells;
    :func:`skipped_victims` lists them.

    Raises:
        GridError: if the grid names something the catalog does not know (:func:`check_grid`).
        SelectionError: if ``only`` matches no cell.
    """
    check_grid(grid, catalog)
    defenses = expand_defenses(grid, catalog)
    attacks = expand_attacks(grid, catalog)
    cells: list[Cell] = []
    for ds in grid.datasets:
        for bits in grid.bits:
            if victim_skip_reason(grid, catalog, bits) is not None:
                continue
            clean = _clean_cell(grid, cache, ds, bits)
            start = len(cells)
            cells.append(clean)
            for dspec in defenses:
                defense = _defense_cell(
                    grid, cache, clean, dspec, catalog.defense_class(dspec.name)
                )
                cells.append(defense)
                for aspec, mode in attacks:
                    cls = catalog.attack_class(aspec.name)
                    cells.append(_attack_cell(grid, cache, defense, aspec, mode, cls))
            cells.extend(sweep_cells(grid, cache, cells[start:]))
            cells.extend(ranking_cells(grid, cache, cells[start:]))
    if not only:
        return cells
    selected = select(cells, only)
    if not selected:
        raise SelectionError(f"--only {only!r} matches no cell of grid {grid.source}")
    return selected


def select(cells: list[Cell], pattern: str) -> list[Cell]:
    """Cells whose id matches ``pattern`` and the cells they depend on.

    ``pattern`` is an fnmatch pattern with ``*`` added at both ends, so a plain substring
    matches too: ``good/weak`` keeps ``attack/<victim>/good/weak`` (and ``.../good/weak-x``).
    """
    by_id = {c.id: c for c in cells}
    keep: set[str] = set()
    stack = [c.id for c in cells if fnmatch.fnmatch(c.id, f"*{pattern}*")]
    while stack:
        cell_id = stack.pop()
        if cell_id not in keep:
            keep.add(cell_id)
            stack.extend(by_id[cell_id].deps)
    return [c for c in cells if c.id in keep]
