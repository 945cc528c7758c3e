"""The benchmark's artefact graph: clean model → defended model → attack cell.

:func:`plan` expands a :class:`~robust_hashing.benchmark.grid.Grid` into :class:`Cell` s
in dependency order. Each cell knows its cache key (config + upstream keys + code version +
seed), its folder and the cells it depends on. What a cell *does* lives in
:mod:`robust_hashing.benchmark.steps`; which defenses and attacks exist comes from a
:class:`Catalog` (the registries by default, a fake in tests).
"""

from __future__ import annotations

import fnmatch
import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.grid import MODES, AttackSpec, DefenseSpec, Grid

# Hyper-parameters that configure the Lightning Trainer rather than the task.
TRAINER_HP = ("max_epochs", "max_steps", "limit_train_batches")


class Catalog(Protocol):
    """What the planner needs to know about registered defenses and attacks."""

    def defenses(self) -> list[str]:
        """Registered defense names."""
        ...

    def attacks(self) -> list[str]:
        """Registered attack names."""
        ...

    def defense_class(self, name: str) -> Any:
        """The class registered as defense ``name``."""
        ...

    def attack_class(self, name: str) -> Any:
        """The class registered as attack ``name``."""
        ...

    def loss_class(self, name: str) -> Any:
        """The class registered as hashing loss ``name`` (the victim method), None if unknown."""
        ...


class RegistryCatalog:
    """:class:`Catalog` backed by ``robust_hashing.defenses`` and ``robust_hashing.attacks``."""

    def defenses(self) -> list[str]:
        """Registered defense names."""
        from robust_hashing.defenses import list_defenses

        return list(list_defenses())

    def attacks(self) -> list[str]:
        """Registered attack names."""
        from robust_hashing.attacks import list_attacks

        return list(list_attacks())

    def defense_class(self, name: str) -> Any:
        """The class registered as defense ``name``."""
        from robust_hashing.defenses import get_defense

        return get_defense(name)

    def attack_class(self, name: str) -> Any:
        """The class registered as attack ``name``."""
        from robust_hashing.attacks import ATTACKS

        return ATTACKS.get(name)

    def loss_class(self, name: str) -> Any:
        """The class registered as hashing loss ``name``, None if unknown."""
        from robust_hashing.losses import LOSSES, list_losses

        return LOSSES.get(name) if name in list_losses() else None


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


def supported_modes(cls: Any) -> tuple[str, ...]:
    """Modes an attack class supports (``supported_modes`` or torchattacks' ``supported_mode``)."""
    modes = getattr(cls, "supported_modes", None) or getattr(cls, "supported_mode", None)
    if modes is None:
        return ("untargeted",)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    return tuple(m for m in MODES if m in modes)


def class_digest(cls: Any) -> str:
    """Digest of the file defining ``cls`` (so an edited plugin invalidates its artefacts)."""
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        source = None
    if not source or not Path(source).is_file():
        return getattr(cls, "__qualname__", repr(cls))
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]


def resolve_hp(cls: Any, hp: dict[str, Any], profile: str) -> dict[str, Any]:
    """Grid hyper-parameters over the class's ``quick`` dict (quick profile only)."""
    base = dict(getattr(cls, "quick", None) or {}) if profile == "quick" else {}
    return {**base, **hp}


def expand_defenses(grid: Grid, catalog: Catalog) -> list[DefenseSpec]:
    """The grid's defenses, ``all`` expanded to every registered name."""
    if grid.defenses is not None:
        return list(grid.defenses)
    return [DefenseSpec(name) for name in catalog.defenses()]


def expand_attacks(grid: Grid, catalog: Catalog) -> list[tuple[AttackSpec, str]]:
    """(attack, mode) pairs; an attack without a mode runs in each supported mode.

    Raises:
        ValueError: if the grid asks for a mode the attack does not support.
    """
    specs = grid.attacks if grid.attacks is not None else [AttackSpec(n) for n in catalog.attacks()]
    out: list[tuple[AttackSpec, str]] = []
    for spec in specs:
        modes = supported_modes(catalog.attack_class(spec.name))
        if spec.mode is not None and spec.mode not in modes:
            raise ValueError(f"{grid.source}: attack {spec.name!r} does not support {spec.mode}")
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
    48-bit cells are skipped, algorithms §2). An unknown method is not skipped here: it
    fails when its clean cell runs, as before.
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
    key = cache.key("clean", config, [], grid.seed)
    cell_id = f"clean/{victim_id(ds.name, bits, grid.method, grid.backbone)}"
    meta = {"dataset": ds.name, "bits": bits}
    return Cell(cell_id, "clean", key, cache.path("clean", key), config, (), meta)


def _defense_cell(
    grid: Grid, cache: ArtefactCache, clean: Cell, spec: DefenseSpec, cls: Any
) -> Cell:
    hp = resolve_hp(cls, spec.hp, grid.profile)
    trainer = {k: hp.pop(k) for k in TRAINER_HP if k in hp}
    trainer.setdefault("max_epochs", grid.trainer["defense_epochs"])
    trainer["precision"] = grid.trainer["precision"]
    config = {"defense": spec.name, "hp": hp, "trainer": trainer, "code": class_digest(cls)}
    key = cache.key("defense", config, [clean.key], grid.seed)
    prefix = clean.id.split("/", 1)[1]
    devices = grid.trainer["devices"] if isinstance(grid.trainer["devices"], int) else 1
    meta = {**clean.meta, "defense": spec.name}
    return Cell(
        f"defense/{prefix}/{spec.name}", "defense", key, cache.path("defense", key),
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
    meta = {**defense.meta, "attack": spec.name, "mode": mode}
    cell_id = attack_cell_id(defense.id, spec.name, mode)
    return Cell(cell_id, "attack", key, cache.path("attack", key), config, (defense.id,), meta)


def plan(grid: Grid, cache: ArtefactCache, catalog: Catalog, only: str | None = None) -> list[Cell]:
    """Expand ``grid`` into cells in dependency order (clean, defenses, attacks).

    Args:
        grid: the validated grid (plugins already imported).
        cache: where artefacts live; determines each cell's folder.
        catalog: registered defenses and attacks.
        only: optional fnmatch pattern on cell ids; matching cells plus everything they
            depend on are kept.

    Code lengths the victim's loss cannot train (:func:`victim_skip_reason`) get no cells;
    :func:`skipped_victims` lists them.
    """
    defenses = expand_defenses(grid, catalog)
    attacks = expand_attacks(grid, catalog)
    cells: list[Cell] = []
    for ds in grid.datasets:
        for bits in grid.bits:
            if victim_skip_reason(grid, catalog, bits) is not None:
                continue
            clean = _clean_cell(grid, cache, ds, bits)
            cells.append(clean)
            for dspec in defenses:
                defense = _defense_cell(
                    grid, cache, clean, dspec, catalog.defense_class(dspec.name)
                )
                cells.append(defense)
                for aspec, mode in attacks:
                    cls = catalog.attack_class(aspec.name)
                    cells.append(_attack_cell(grid, cache, defense, aspec, mode, cls))
    return select(cells, only) if only else cells


def select(cells: list[Cell], pattern: str) -> list[Cell]:
    """Cells whose id matches ``pattern`` (fnmatch, ``*`` added at both ends) and their deps."""
    by_id = {c.id: c for c in cells}
    keep: set[str] = set()
    stack = [c.id for c in cells if fnmatch.fnmatch(c.id, f"*{pattern}*")]
    while stack:
        cell_id = stack.pop()
        if cell_id not in keep:
            keep.add(cell_id)
            stack.extend(by_id[cell_id].deps)
    return [c for c in cells if c.id in keep]
