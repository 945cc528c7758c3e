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

from robust_hashing.benchmark.cache import ArtefactCache, config_hash
from robust_hashing.benchmark.grid import MODES, AttackSpec, DefenseSpec, Grid, grid_error
from robust_hashing.registry import accepted_hp

# Hyper-parameters that configure the Lightning Trainer rather than the task.
TRAINER_HP = ("max_epochs", "max_steps", "limit_train_batches")
# Constructor arguments the steps set themselves (a grid ``hp`` may not repeat them).
RUNNER_DEFENSE_ARGS = ("clean_checkpoint", "backbone", "bits", "loss", "num_train", "num_classes")
RUNNER_ATTACK_ARGS = ("model", "context", "targeted")
RUNNER_VICTIM_ARGS = ("backbone", "bits", "loss", "num_train", "num_classes")


class SelectionError(ValueError):
    """``--only`` matched no cell of the grid."""


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

    def datasets(self) -> list[str]:
        """Registered data module names (a grid's ``datasets[].name``)."""
        ...

    def methods(self) -> list[str]:
        """Registered hashing losses (a grid's ``victim.method``)."""
        ...

    def backbones(self) -> list[str]:
        """Registered backbones (a grid's ``victim.backbone``)."""
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

    def datasets(self) -> list[str]:
        """Registered data module names."""
        from robust_hashing.datamodules import DATAMODULES

        return DATAMODULES.list()

    def methods(self) -> list[str]:
        """Registered hashing losses."""
        from robust_hashing.losses import list_losses

        return list(list_losses())

    def backbones(self) -> list[str]:
        """Registered backbones."""
        from robust_hashing.models import list_backbones

        return list(list_backbones())


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


def _check_hp(
    source: str, key: str, what: str, hp: dict[str, Any], cls: Any, extra: tuple[str, ...],
    reserved: tuple[str, ...],
) -> None:  # fmt: skip
    for name in hp:
        if name in reserved:
            raise grid_error(
                source, f"{key}.{name}", f"{name!r} is set by the runner for {what}; remove it"
            )
    accepted = accepted_hp(cls)
    if accepted is None:
        return
    accepted = (accepted | set(extra)) - set(reserved)
    for name in hp:
        if name not in accepted:
            raise grid_error(
                source, f"{key}.{name}", f"unknown hyper-parameter of {what}; accepted: "
                + ", ".join(sorted(accepted)),
            )  # fmt: skip


def _known(source: str, key: str, kind: str, name: str, known: list[str]) -> None:
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise grid_error(source, key, f"unknown {kind} {name!r}; known: {listed}")


def check_grid(grid: Grid, catalog: Catalog) -> None:
    """Check the grid's names and hyper-parameters against the registries.

    Run once plugins are imported (:func:`plan` calls it): every dataset, victim method and
    backbone, defense and attack must be registered, every attack mode supported, and every
    ``hp`` key accepted by the class's constructor (:func:`accepted_hp`; defenses also take
    the trainer settings ``max_epochs``, ``max_steps`` and ``limit_train_batches``; the
    victim's ``hp`` go to :class:`~robust_hashing.tasks.HashingTask`).

    Raises:
        GridError: naming the grid file, the key and the value.
    """
    src = grid.source
    datasets = catalog.datasets()
    for i, ds in enumerate(grid.datasets):
        _known(src, f"datasets[{i}].name", "dataset", ds.name, datasets)
    _known(src, "victim.method", "victim method (hashing loss)", grid.method, catalog.methods())
    _known(src, "victim.backbone", "backbone", grid.backbone, catalog.backbones())
    from robust_hashing.tasks import HashingTask  # the clean step's task (steps.run_clean)

    _check_hp(src, "victim.hp", "the victim's HashingTask", grid.victim_hp, HashingTask, (),
              RUNNER_VICTIM_ARGS)  # fmt: skip
    defenses = catalog.defenses()
    for i, dspec in enumerate(grid.defenses or ()):
        _known(src, f"defenses[{i}].name", "defense", dspec.name, defenses)
        _check_hp(src, f"defenses[{i}].hp", f"defense {dspec.name!r}", dspec.hp,
                  catalog.defense_class(dspec.name), TRAINER_HP, RUNNER_DEFENSE_ARGS)  # fmt: skip
    attacks = catalog.attacks()
    for i, aspec in enumerate(grid.attacks or ()):
        _known(src, f"attacks[{i}].name", "attack", aspec.name, attacks)
        cls = catalog.attack_class(aspec.name)
        modes = supported_modes(cls)
        if aspec.mode is not None and aspec.mode not in modes:
            raise grid_error(
                src, f"attacks[{i}].mode", f"attack {aspec.name!r} does not support "
                f"{aspec.mode} (supported: {', '.join(modes)})",
            )  # fmt: skip
        _check_hp(src, f"attacks[{i}].hp", f"attack {aspec.name!r}", aspec.hp, cls, (),
                  RUNNER_ATTACK_ARGS)  # fmt: skip


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
    identity = data_identity(ds.name, ds.kwargs)
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
            cells.append(clean)
            for dspec in defenses:
                defense = _defense_cell(
                    grid, cache, clean, dspec, catalog.defense_class(dspec.name)
                )
                cells.append(defense)
                for aspec, mode in attacks:
                    cls = catalog.attack_class(aspec.name)
                    cells.append(_attack_cell(grid, cache, defense, aspec, mode, cls))
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
