"""What the planner knows of defenses and attacks, and the grid check built on it.

A :class:`Catalog` answers which datasets, victim methods, backbones, defenses and attacks
exist and which class each name stands for (:class:`RegistryCatalog`: the registries, with
plugins once imported; a fake in tests). :func:`check_grid` checks a grid against it before
anything runs: every name registered, every attack mode supported, every ``hp`` key accepted.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any, Protocol

from robust_hashing.benchmark.grid import Grid, grid_error
from robust_hashing.constants import MODES
from robust_hashing.hparams import hp_problem
from robust_hashing.registry import accepted_hp

# Hyper-parameters that configure the Lightning Trainer rather than the task.
TRAINER_HP = ("max_epochs", "max_steps", "limit_train_batches")
# Constructor arguments the steps set themselves (a grid ``hp`` may not repeat them).
RUNNER_DEFENSE_ARGS = ("clean_checkpoint", "backbone", "bits", "loss", "num_train", "num_classes")
RUNNER_ATTACK_ARGS = ("model", "context", "targeted")
RUNNER_VICTIM_ARGS = ("backbone", "bits", "loss", "num_train", "num_classes")


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
        """Registered attack names of the mAP protocol (the ranking attacks have their own)."""
        from robust_hashing.attacks import ATTACKS, list_attacks

        return [n for n in list_attacks() if getattr(ATTACKS.get(n), "protocol", "") != "ranking"]

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
    if accepted is not None:
        accepted = (accepted | set(extra)) - set(reserved)
        for name in hp:
            if name not in accepted:
                raise grid_error(
                    source, f"{key}.{name}", f"unknown hyper-parameter of {what}; accepted: "
                    + ", ".join(sorted(accepted)),
                )  # fmt: skip
    problem = hp_problem(cls, hp)  # value types against the signature, ε and step sizes
    if problem is not None:
        raise grid_error(source, f"{key}.{problem[0]}", f"{what}: {problem[1]}")


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
    if grid.ranking is not None:  # the nine ranking attacks take ``ranking.hp``
        from robust_hashing.benchmark.ranking_plan import check_ranking

        check_ranking(grid, grid.ranking)
