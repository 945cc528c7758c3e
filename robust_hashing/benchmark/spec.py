"""What the worker process gets: a :class:`CellSpec`, serialised once into ``cell.json``.

The runner builds a :class:`CellSpec` (the planned :class:`~.cell_types.Cell`, the folders
of its upstream cells and the :class:`Runtime` settings), writes :meth:`CellSpec.to_json`
into the cell's folder, and the worker reads it back with :meth:`CellSpec.from_json`.
Everything in between uses attributes. The JSON layout (``id``, ``kind``, ``key``,
``dir``, ``config``, ``meta``, ``upstream``, ``runtime``) is the one ``cell.json`` has
always had; the victim's fields appear in it more than once, in the typed spec once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from robust_hashing.benchmark.cell_types import (
    CONFIGS,
    AttackConfig,
    AttackInfo,
    Cell,
    CellConfig,
    CleanConfig,
    DefenseConfig,
    DefenseInfo,
    RankingConfig,
    RankingInfo,
    SweepConfig,
    SweepInfo,
    Task,
    Victim,
)

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Runtime:
    """How a cell runs: everything that does not change its results."""

    seed: int
    accelerator: str
    devices: int
    strategy: str | None
    plugins: tuple[str, ...]  # imported by the worker before the step runs
    entry_points: bool  # whether the worker loads entry-point plugins too
    steps: str | None  # module providing STEPS (tests); None: benchmark.steps
    cache_root: Path
    wandb_project: str
    top_k: int | None  # the ranking depth of the clean evaluation

    @property
    def wandb_dir(self) -> Path:
        """Where the cell's wandb runs go."""
        return self.cache_root / "wandb"


@dataclass(frozen=True, slots=True)
class CellSpec:
    """A planned cell with what its worker needs to run it."""

    cell: Cell
    upstream: dict[str, Path]  # kind of an upstream cell -> its folder
    runtime: Runtime

    def with_dataset_kwargs(self, **kwargs: Any) -> CellSpec:
        """A copy whose data module gets ``kwargs`` (e.g. a smaller ``eval_batch_size``)."""
        cell = replace(self.cell, victim=self.cell.victim.with_dataset_kwargs(**kwargs))
        return replace(self, cell=cell)

    def to_json(self) -> JSON:
        """The JSON-able form written to ``cell.json``."""
        cell, rt, victim = self.cell, self.runtime, self.cell.victim
        return {
            "id": cell.id,
            "kind": cell.kind,
            "key": cell.key,
            "dir": str(cell.dir),
            "config": cell.hashed_config(),
            "meta": cell.meta,
            "upstream": {k: str(v) for k, v in self.upstream.items()},
            "runtime": {
                "seed": rt.seed, "accelerator": rt.accelerator, "devices": rt.devices,
                "strategy": rt.strategy, "plugins": list(rt.plugins),
                "entry_points": rt.entry_points, "steps": rt.steps,
                "cache_root": str(rt.cache_root), "wandb_dir": str(rt.wandb_dir),
                "wandb_project": rt.wandb_project,
                "dataset": {"name": victim.dataset, "kwargs": victim.dataset_kwargs},
                "dataset_id": victim.dataset_id,
                "victim": {"method": victim.method, "backbone": victim.backbone, "bits": victim.bits},
                "top_k": rt.top_k,
            },
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: JSON) -> CellSpec:
        """The spec whose :meth:`to_json` is ``data``.

        Raises:
            ValueError: if ``data`` names an unknown kind or lacks a field of its kind.
        """
        try:
            return _from_json(data)
        except KeyError as err:
            raise ValueError(f"cell spec {data.get('id')!r}: missing field {err}") from None


def _from_json(data: JSON) -> CellSpec:
    kind, cfg, meta, rt = data["kind"], data["config"], data["meta"], data["runtime"]
    if kind not in CONFIGS:
        raise ValueError(f"cell spec {data.get('id')!r}: unknown kind {kind!r}")
    victim = Victim(
        dataset=rt["dataset"]["name"],
        dataset_kwargs=dict(rt["dataset"]["kwargs"]),
        dataset_id=rt["dataset_id"],
        method=rt["victim"]["method"],
        backbone=rt["victim"]["backbone"],
        bits=int(rt["victim"]["bits"]),
    )
    defense = None
    if "defense" in meta:
        alias = meta["defense"] if meta["defense"] != meta["defense_name"] else None
        hp = {k: v for k, v in meta["defense_hp"].items() if k != "name"}
        defense = DefenseInfo(meta["defense_name"], cfg.get("alias", alias), hp)
    task: Task | None = None
    if kind == "attack":
        task = AttackInfo(meta["attack"], meta["mode"], meta["attack_hp"], meta["bounded"])
    elif kind == "sweep":
        task = SweepInfo(meta["source_attacks"], meta["own_attacks"], meta["attack_hp"])
    elif kind == "ranking":
        task = RankingInfo(meta["attack_hp"])
    cell = Cell(data["key"], Path(data["dir"]), victim, _config(kind, cfg), defense, task)
    runtime = Runtime(
        seed=rt["seed"],
        accelerator=rt["accelerator"],
        devices=rt["devices"],
        strategy=rt["strategy"],
        plugins=tuple(rt["plugins"]),
        entry_points=rt["entry_points"],
        steps=rt["steps"],
        cache_root=Path(rt["cache_root"]),
        wandb_project=rt["wandb_project"],
        top_k=rt["top_k"],
    )
    upstream = {k: Path(v) for k, v in data["upstream"].items()}
    return CellSpec(cell, upstream, runtime)


def _config(kind: str, cfg: JSON) -> CellConfig:
    """The typed config of a ``kind`` cell from its hashed form."""
    if kind == "clean":
        return CleanConfig(cfg["hp"], cfg["trainer"])
    if kind == "defense":
        return DefenseConfig(cfg["hp"], cfg["trainer"], cfg["code"])
    if kind == "attack":
        return AttackConfig(cfg["hp"], cfg["top_k"], cfg["max_queries"], cfg["code"])
    if kind == "sweep":
        return SweepConfig(tuple(cfg["eps"]), cfg["top_k"], cfg["max_queries"], cfg["source"])
    return RankingConfig(
        tuple(cfg["attacks"]), cfg["hp"], cfg["top_k"], cfg["max_queries"], tuple(cfg["code"])
    )
