"""The benchmark's artefact graph: clean model → defended model → attack cell → sweep.

A ``sweep`` cell per defended model (transfer track and robustness curve) depends on its
defense cell and on attack cells of ``none`` and of its own model
(:mod:`robust_hashing.benchmark.sweep_plan`).

:func:`plan` expands a :class:`~robust_hashing.benchmark.grid.Grid` into :class:`Cell` s
in dependency order. Each cell knows its cache key (config + upstream keys + code version +
seed), its folder and the cells it depends on. What a cell *does* lives in
:mod:`robust_hashing.benchmark.steps`; which defenses and attacks exist comes from a
:class:`~robust_hashing.benchmark.catalog.Catalog` (the registries by default, a fake in
tests).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
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
from robust_hashing.benchmark.data_key import with_image_digest
from robust_hashing.benchmark.grid import AttackSpec, DefenseSpec, Grid
from robust_hashing.benchmark.sweep_plan import sweep_cells
from robust_hashing.effective_hp import SKIPPED_HP, resolved_hp


class SelectionError(ValueError):
    """``--only`` matched no cell of the grid."""


@dataclass
class Cell:
    """One node of the graph: a unit of work run in its own process."""

    id: str
    kind: str  # "clean" | "defense" | "attack"
    key: str
    dir: Path
    config: dict[str, Any]
    deps: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    devices: int = 1

    def spec(self, upstream: dict[str, Path], extra: dict[str, Any]) -> dict[str, Any]:
        """JSON-able description handed to the worker process."""
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "dir": str(self.dir),
            "config": self.config,
            "meta": self.meta,
            "upstream": {k: str(v) for k, v in upstream.items()},
            **extra,
        }


def expand_defenses(grid: Grid, catalog: Catalog) -> list[DefenseSpec]:
    """The grid's defenses, ``all`` expanded to every registered name."""
    if grid.defenses is not None:
        return list(grid.defenses)
    return [DefenseSpec(name) for name in catalog.defenses()]


def expand_attacks(grid: Grid, catalog: Catalog) -> list[tuple[AttackSpec, str]]:
    """(attack, mode) pairs; an attack without a mode runs in each supported mode.

    The names and modes are assumed valid (:func:`check_grid`).
    """
    specs = grid.attacks if grid.attacks is not None else [AttackSpec(n) for n in catalog.attacks()]
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
    config = {
        "dataset": ds.name,
        "dataset_kwargs": ds.kwargs,
        "method": grid.method,
        "backbone": grid.backbone,
        "bits": bits,
        "hp": grid.victim_hp,
        "trainer": {
            "max_epochs": trainer["clean_epochs"],
            "precision": trainer["precision"],
            "limit_train_batches": trainer.get("limit_train_batches"),
        },
    }
    identity = with_image_digest(
        data_identity(ds.name, ds.kwargs), ds.kwargs, cache.data_memo, cache.rehash
    )
    key = cache.key("clean", {**config, "dataset_kwargs": identity}, [], grid.seed)
    cell_id = f"clean/{victim_id(ds.name, bits, grid.method, grid.backbone)}"
    meta = {"dataset": ds.name, "bits": bits, "dataset_id": f"{ds.name}-{config_hash(identity, 8)}"}
    return Cell(cell_id, "clean", key, cache.path("clean", key), config, (), meta)


def _defense_cell(
    grid: Grid, cache: ArtefactCache, clean: Cell, spec: DefenseSpec, cls: Any
) -> Cell:
    hp = resolve_hp(cls, spec.hp, grid.profile)
    trainer = {k: hp.pop(k) for k in TRAINER_HP if k in hp}
    trainer.setdefault("max_epochs", grid.trainer["defense_epochs"])
    trainer["precision"] = grid.trainer["precision"]
    config = {"defense": spec.name, "hp": hp, "trainer": trainer, "code": class_digest(cls)}
    if spec.alias is not None:  # a variant never shares its artefacts with another entry
        config["alias"] = spec.alias
    key = cache.key("defense", config, [clean.key], grid.seed)
    prefix = clean.id.split("/", 1)[1]
    devices = grid.trainer["devices"] if isinstance(grid.trainer["devices"], int) else 1
    full_hp = resolved_hp(cls, {**hp, **trainer}, (*SKIPPED_HP, *RUNNER_DEFENSE_ARGS))
    meta = {
        **clean.meta, "defense": spec.id, "defense_name": spec.name,
        "defense_hp": {"name": spec.name, **full_hp},
    }  # fmt: skip
    return Cell(
        f"defense/{prefix}/{spec.id}", "defense", key, cache.path("defense", key),
        config, (clean.id,), meta, devices if spec.name != "none" else 1,
    )  # fmt: skip


def _attack_cell(
    grid: Grid, cache: ArtefactCache, defense: Cell, spec: AttackSpec, mode: str, cls: Any
) -> Cell:
    hp = resolve_hp(cls, spec.hp, grid.profile)
    config = {
        "attack": spec.name, "mode": mode, "hp": hp, "top_k": grid.top_k, "code": class_digest(cls),
        "max_queries": grid.max_queries,
    }  # fmt: skip
    key = cache.key("attack", config, [defense.key], grid.seed)
    meta = {
        **defense.meta, "attack": spec.name, "mode": mode,
        "attack_hp": resolved_hp(cls, hp), "bounded": bool(getattr(cls, "bounded", True)),
    }  # fmt: skip
    cell_id = attack_cell_id(defense.id, spec.name, mode)
    return Cell(cell_id, "attack", key, cache.path("attack", key), config, (defense.id,), meta)


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
