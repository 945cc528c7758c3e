"""The typed parts of a benchmark cell: its victim, its configuration and what it evaluates.

A :class:`Cell` is built by the planner (:mod:`robust_hashing.benchmark.cells`) and handed
to the worker inside a :class:`~robust_hashing.benchmark.spec.CellSpec`. Each value lives
in one place: the code length in :attr:`Victim.bits`, the attack's name and mode in
:class:`AttackInfo`, the defense's name and alias in :class:`DefenseInfo`, the kind in
the config's class. The cell's id,
its kind, the hashed configuration (:meth:`Cell.hashed_config`) and the descriptive
``meta`` mapping written into ``done.json`` are derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

JSON = dict[str, Any]
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Victim:
    """The clean model a cell descends from: its data and its architecture."""

    dataset: str
    dataset_kwargs: JSON  # as given in the grid, ``root`` included (the worker reads from it)
    dataset_id: str  # ``<name>-<digest of the data identity>``: names the stored targets
    method: str
    backbone: str
    bits: int

    @property
    def id(self) -> str:
        """``<dataset>-<bits>bit-<method>-<backbone>``: the clean model's part of cell ids."""
        return f"{self.dataset}-{self.bits}bit-{self.method}-{self.backbone}"

    def with_dataset_kwargs(self, **kwargs: Any) -> Victim:
        """A copy whose data module gets ``kwargs`` on top of the grid's."""
        return replace(self, dataset_kwargs={**self.dataset_kwargs, **kwargs})

    def meta(self) -> JSON:
        """The victim's part of a cell's ``meta``."""
        return {"dataset": self.dataset, "bits": self.bits, "dataset_id": self.dataset_id}


@dataclass(frozen=True, slots=True)
class DefenseInfo:
    """The defense of a defended model (and of the cells that evaluate it)."""

    name: str  # registry name
    alias: str | None  # the grid's name for a hyper-parameter variant
    hp: JSON  # effective hyper-parameters, trainer settings included (the record's defense_hp)

    @property
    def id(self) -> str:
        """The alias, or the registry name when there is none."""
        return self.alias or self.name

    @property
    def named_hp(self) -> JSON:
        """``{"name": <registry name>, **hp}``: the ``defense_hp`` of records and ``meta``."""
        return {"name": self.name, **self.hp}

    def meta(self) -> JSON:
        """The defense's part of a cell's ``meta``."""
        return {"defense": self.id, "defense_name": self.name, "defense_hp": self.named_hp}


@dataclass(frozen=True, slots=True)
class AttackInfo:
    """The attack an attack cell runs."""

    name: str
    mode: str  # "untargeted" | "targeted"
    hp: JSON  # effective hyper-parameters (defaults filled in; the record's attack_hp)
    bounded: bool

    @property
    def targeted(self) -> bool:
        """Whether the attack runs in the targeted mode."""
        return self.mode == "targeted"

    def meta(self) -> JSON:
        """The attack's part of a cell's ``meta``."""
        return {
            "attack": self.name,
            "mode": self.mode,
            "attack_hp": self.hp,
            "bounded": self.bounded,
        }


@dataclass(frozen=True, slots=True)
class SweepInfo:
    """The attack cells a sweep cell reads (:mod:`robust_hashing.benchmark.sweep_plan`)."""

    source_attacks: dict[str, str]  # attack name -> key of its cell on the source model
    own_attacks: dict[str, str]  # attack name -> key of its cell on this model
    attack_hp: dict[str, JSON]  # attack name -> the grid's hyper-parameters of that attack

    def meta(self) -> JSON:
        """The sweep's part of a cell's ``meta``."""
        return {
            "source_attacks": self.source_attacks,
            "own_attacks": self.own_attacks,
            "attack_hp": self.attack_hp,
        }


@dataclass(frozen=True, slots=True)
class RankingInfo:
    """The ranking attacks a ranking cell runs (:mod:`robust_hashing.benchmark.ranking_plan`)."""

    attack_hp: dict[str, JSON]  # attack name -> its effective hyper-parameters

    def meta(self) -> JSON:
        """The ranking protocol's part of a cell's ``meta``."""
        return {"attack": "ranking", "attack_hp": self.attack_hp}


Task = AttackInfo | SweepInfo | RankingInfo


@dataclass(frozen=True, slots=True)
class CleanConfig:
    """What trains a clean model besides its victim (data, method, backbone, bits)."""

    KIND: ClassVar[str] = "clean"
    hp: JSON
    trainer: JSON  # Trainer settings: max_epochs, precision, limit_train_batches


@dataclass(frozen=True, slots=True)
class DefenseConfig:
    """What fine-tunes a defended model besides its defense's name and alias."""

    KIND: ClassVar[str] = "defense"
    hp: JSON  # the grid's hyper-parameters over the class's profile defaults
    trainer: JSON  # Trainer settings taken out of ``hp`` (max_epochs, ...) and precision
    code: str  # digest of the defense's source file


@dataclass(frozen=True, slots=True)
class AttackConfig:
    """What determines an attack cell's figures besides the attack's name and mode."""

    KIND: ClassVar[str] = "attack"
    hp: JSON  # the grid's hyper-parameters over the class's profile defaults
    top_k: int | None
    max_queries: int | None
    code: str  # digest of the attack's source file


@dataclass(frozen=True, slots=True)
class SweepConfig:
    """The transfer track and robustness curve of one defended model."""

    KIND: ClassVar[str] = "sweep"
    eps: tuple[float, ...]
    top_k: int | None
    max_queries: int | None
    source: str  # the model the transfer examples are crafted on


@dataclass(frozen=True, slots=True)
class RankingConfig:
    """RobRank's ranking protocol on one defended model (all its attacks in one cell)."""

    KIND: ClassVar[str] = "ranking"
    attacks: tuple[str, ...]
    hp: dict[str, JSON]  # attack name -> the grid's hyper-parameters over the profile's
    top_k: int | None
    max_queries: int | None
    code: tuple[str, ...]  # digests of the attacks' source files


CellConfig = CleanConfig | DefenseConfig | AttackConfig | SweepConfig | RankingConfig
CONFIGS: dict[str, type[CellConfig]] = {
    c.KIND: c for c in (CleanConfig, DefenseConfig, AttackConfig, SweepConfig, RankingConfig)
}


@dataclass(frozen=True, slots=True)
class Cell:
    """One node of the graph: a unit of work run in its own process.

    ``defense`` is set for every cell but the clean one, ``task`` for the cells that
    evaluate a defended model (attack, sweep, ranking).
    """

    key: str
    dir: Path
    victim: Victim
    config: CellConfig
    defense: DefenseInfo | None = None
    task: Task | None = None
    deps: tuple[str, ...] = ()
    devices: int = 1

    @property
    def kind(self) -> str:
        """``clean`` | ``defense`` | ``attack`` | ``sweep`` | ``ranking`` (from the config's class)."""
        return self.config.KIND

    @property
    def id(self) -> str:
        """``<kind>/<victim>[/<defense>][/<attack>[-targeted]]``."""
        parts = [self.kind, self.victim.id]
        if self.defense is not None:
            parts.append(self.defense.id)
        if isinstance(self.task, AttackInfo):
            parts.append(self.task.name + ("-targeted" if self.task.targeted else ""))
        return "/".join(parts)

    def hashed_config(self) -> JSON:
        """The configuration the cache key hashes (and ``done.json`` records)."""
        c, victim = self.config, self.victim
        if isinstance(c, CleanConfig):
            return {
                "dataset": victim.dataset, "dataset_kwargs": victim.dataset_kwargs,
                "method": victim.method, "backbone": victim.backbone, "bits": victim.bits,
                "hp": c.hp, "trainer": c.trainer,
            }  # fmt: skip
        if isinstance(c, DefenseConfig):
            defense = self.part(DefenseInfo)
            out = {"defense": defense.name, "hp": c.hp, "trainer": c.trainer, "code": c.code}
            if defense.alias is not None:  # a variant never shares its artefacts
                out["alias"] = defense.alias
            return out
        if isinstance(c, AttackConfig):
            attack = self.part(AttackInfo)
            return {
                "attack": attack.name, "mode": attack.mode, "hp": c.hp, "top_k": c.top_k,
                "code": c.code, "max_queries": c.max_queries,
            }  # fmt: skip
        if isinstance(c, SweepConfig):
            return {
                "eps": list(c.eps), "top_k": c.top_k, "max_queries": c.max_queries,
                "source": c.source,
            }  # fmt: skip
        return {
            "attacks": list(c.attacks), "hp": c.hp, "top_k": c.top_k,
            "max_queries": c.max_queries, "code": list(c.code),
        }  # fmt: skip

    @property
    def meta(self) -> JSON:
        """Descriptive fields (dataset, bits, defense, attack, ...) as written to ``done.json``."""
        out = self.victim.meta()
        for part in (self.defense, self.task):
            if part is not None:
                out.update(part.meta())
        return out

    def part(self, cls: type[P]) -> P:
        """The cell's config, defense or task (attack, sweep, ranking) of type ``cls``.

        Raises:
            ValueError: if the cell has none (e.g. the attack of a defense cell).
        """
        for value in (self.config, self.defense, self.task):
            if isinstance(value, cls):
                return value
        raise ValueError(f"{self.kind} cell {self.key} has no {cls.__name__}")
