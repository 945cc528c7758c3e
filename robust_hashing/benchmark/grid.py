"""Grid YAML schema: which datasets, code lengths, defenses and attacks a benchmark run fills.

A grid file looks like ``benchmark/quick.yaml``::

    name: quick
    profile: quick            # quick | paper: quick merges each component's ``quick`` dict
    seed: 0
    top_k: 5000
    datasets:
      - name: embedded        # key of robust_hashing.datamodules.get_datamodule
        kwargs: {batch_size: 64}
    bits: [32]
    victim: {method: dpsh, backbone: small_cnn, hp: {lr: 0.001}}
    trainer: {accelerator: auto, devices: 1, clean_epochs: 20, defense_epochs: 2}
    defenses: all             # or a list: [none, cgat, {name: cgat, alias: cgat_lam2, hp: {...}}]
    attacks: all              # or a list: [hag, {name: dhta, mode: targeted, hp: {...}}]
    plugins: []               # modules or .py files imported before the grid is expanded
    leaderboard_dir: leaderboard/quick   # where results/ and leaderboard.csv go
    ranking: true             # RobRank's ranking protocol per defense (benchmark.ranking_plan)

Paths (``plugins`` files, ``leaderboard_dir``) are relative to the folder the command runs
in, as for every command-line path (the shipped grids assume the repository root).
``all`` expands, after plugins are imported, to every registered defense / every registered
attack in each of its supported modes. Validation errors name the file and the YAML key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from robust_hashing.constants import MODES
from robust_hashing.errors import yaml_problem

if TYPE_CHECKING:
    from robust_hashing.benchmark.ranking_plan import RankingSpec

PROFILES = ("quick", "paper")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
MAX_SEED = 2**32 - 1  # numpy's (and Lightning's seed_everything) bound
ALL = "all"


class GridError(ValueError):
    """A grid YAML file that does not follow the schema (the message names the key)."""


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the grid: a datamodule name and its keyword arguments."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DefenseSpec:
    """One defense: registry name, hyper-parameters overriding its defaults, optional alias.

    ``alias`` names a hyper-parameter variant (``{name: cgat, alias: cgat_lam2, hp: {...}}``)
    so that one defense can be listed twice: the alias is its :attr:`id` in cell ids, result
    paths and leaderboard rows.
    """

    name: str
    hp: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None

    @property
    def id(self) -> str:
        """The alias, or the registry name when there is none."""
        return self.alias or self.name


@dataclass(frozen=True)
class AttackSpec:
    """One attack: registry name, mode (``None`` = every supported mode) and hyper-parameters."""

    name: str
    mode: str | None = None
    hp: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Grid:
    """A validated benchmark grid (see the module docstring for the YAML layout)."""

    name: str
    profile: str
    seed: int
    top_k: int | None
    datasets: tuple[DatasetSpec, ...]
    bits: tuple[int, ...]
    method: str
    backbone: str
    victim_hp: dict[str, Any]
    trainer: dict[str, Any]
    defenses: tuple[DefenseSpec, ...] | None  # None = all registered
    attacks: tuple[AttackSpec, ...] | None  # None = all registered, every supported mode
    plugins: tuple[str, ...] = ()
    wandb: dict[str, Any] = field(default_factory=dict)
    leaderboard_dir: str = "leaderboard"
    max_queries: int | None = None  # attack only the first N queries (quick profile)
    source: str = "<dict>"
    ranking: RankingSpec | None = None  # the ranking protocol (benchmark.ranking_plan)


TRAINER_DEFAULTS: dict[str, Any] = {
    "accelerator": "auto",
    "devices": 1,
    "clean_epochs": 20,
    "defense_epochs": None,
    "precision": "32-true",
}
TOP_KEYS = {
    "name", "profile", "seed", "top_k", "max_queries", "datasets", "bits", "victim", "trainer",
    "defenses", "attacks", "plugins", "wandb", "leaderboard_dir", "ranking",
}  # fmt: skip


def grid_error(source: str, key: str, message: str) -> GridError:
    """The error for ``key`` of the grid file ``source`` (one line: file, key, message)."""
    return GridError(f"{source}: key '{key}': {message}")


def _mapping(value: Any, source: str, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise grid_error(source, key, f"expected a mapping, got {type(value).__name__}")
    return dict(value)


def _name(value: Any, source: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise grid_error(source, key, f"expected a non-empty string, got {value!r}")
    return value


def _int(value: Any, source: str, key: str, *, positive: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0):
        raise grid_error(
            source, key, f"expected a {'positive ' if positive else ''}integer, got {value!r}"
        )
    return value


def _entries(
    value: Any, source: str, key: str, allowed: tuple[str, ...] = ("name", "mode", "hp")
) -> list[dict[str, Any]] | None:
    """Normalise ``all`` / a list of names or mappings to a list of mappings (None = all)."""
    if value == ALL:
        return None
    if not isinstance(value, list) or not value:
        raise grid_error(source, key, f"expected 'all' or a non-empty list, got {value!r}")
    out = []
    for i, item in enumerate(value):
        entry = {"name": item} if isinstance(item, str) else item
        if not isinstance(entry, Mapping):
            raise grid_error(source, f"{key}[{i}]", "expected a name or a mapping with 'name'")
        extra = set(entry) - set(allowed)
        if extra:
            raise grid_error(source, f"{key}[{i}]", f"unknown keys {sorted(extra)}")
        out.append(dict(entry))
    return out


def _parse_defenses(value: Any, source: str) -> tuple[DefenseSpec, ...] | None:
    entries = _entries(value, source, "defenses", ("name", "mode", "hp", "alias"))
    if entries is None:
        return None
    specs: list[DefenseSpec] = []
    for i, e in enumerate(entries):
        if "mode" in e:
            raise grid_error(source, f"defenses[{i}].mode", "defenses take no mode")
        name = _name(e.get("name"), source, f"defenses[{i}].name")
        alias = e.get("alias")
        if alias is not None:
            alias = _name(alias, source, f"defenses[{i}].alias")
            if "/" in alias or alias != alias.strip():
                raise grid_error(source, f"defenses[{i}].alias", f"not a valid name: {alias!r}")
        spec = DefenseSpec(name, _mapping(e.get("hp"), source, f"defenses[{i}].hp"), alias)
        if any(s.id == spec.id for s in specs):
            where = "alias" if alias is not None else "name"
            raise grid_error(
                source, f"defenses[{i}].{where}", f"defense {spec.id!r} is listed twice (same "
                "cell ids); give the variant its own `alias:`",
            )  # fmt: skip
        specs.append(spec)
    return tuple(specs)


def _parse_attacks(value: Any, source: str) -> tuple[AttackSpec, ...] | None:
    entries = _entries(value, source, "attacks")
    if entries is None:
        return None
    specs: list[AttackSpec] = []
    for i, e in enumerate(entries):
        mode = e.get("mode")
        if mode is not None and mode not in MODES:
            raise grid_error(source, f"attacks[{i}].mode", f"expected one of {MODES}, got {mode!r}")
        name = _name(e.get("name"), source, f"attacks[{i}].name")
        # an entry without a mode runs in every supported mode, so it overlaps any other
        if any(s.name == name and (s.mode == mode or None in (s.mode, mode)) for s in specs):
            raise grid_error(
                source, f"attacks[{i}]", f"attack {name!r} is listed twice for the same mode "
                "(same cell ids); give one entry per mode"
            )  # fmt: skip
        specs.append(AttackSpec(name, mode, _mapping(e.get("hp"), source, f"attacks[{i}].hp")))
    return tuple(specs)


def _parse_datasets(value: Any, source: str) -> tuple[DatasetSpec, ...]:
    if not isinstance(value, list) or not value:
        raise grid_error(source, "datasets", "expected a non-empty list")
    specs: list[DatasetSpec] = []
    for i, item in enumerate(value):
        entry = {"name": item} if isinstance(item, str) else item
        if not isinstance(entry, Mapping):
            raise grid_error(source, f"datasets[{i}]", "expected a name or a mapping with 'name'")
        extra = set(entry) - {"name", "kwargs"}
        if extra:
            raise grid_error(source, f"datasets[{i}]", f"unknown keys {sorted(extra)}")
        name = _name(entry.get("name"), source, f"datasets[{i}].name")
        if any(s.name == name for s in specs):
            raise grid_error(
                source, f"datasets[{i}].name", f"dataset {name!r} is listed twice (cell ids "
                "name the dataset only, so the two entries would share their cells)"
            )  # fmt: skip
        specs.append(
            DatasetSpec(name, _mapping(entry.get("kwargs"), source, f"datasets[{i}].kwargs"))
        )
    return tuple(specs)


def parse_grid(data: Any, source: str = "<dict>") -> Grid:
    """Validate a grid mapping (as loaded from YAML) and return a :class:`Grid`.

    Args:
        data: the mapping.
        source: file name used in error messages.

    Raises:
        GridError: naming ``source`` and the offending key.
    """
    from robust_hashing.benchmark.ranking_plan import parse_ranking

    data = _mapping(data, source, "<root>")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise grid_error(source, min(unknown), f"unknown key (allowed: {sorted(TOP_KEYS)})")
    for required in ("datasets", "bits", "defenses", "attacks"):
        if required not in data:
            raise grid_error(source, required, "missing required key")
    profile = data.get("profile", "quick")
    if profile not in PROFILES:
        raise grid_error(source, "profile", f"expected one of {PROFILES}, got {profile!r}")
    bits_value = data["bits"]
    bits_list = bits_value if isinstance(bits_value, list) else [bits_value]
    bits = tuple(_int(b, source, f"bits[{i}]") for i, b in enumerate(bits_list))
    for i, b in enumerate(bits):
        if b in bits[:i]:
            raise grid_error(source, f"bits[{i}]", f"{b} is listed twice (same cell ids)")
    top_k = data.get("top_k", 5000)
    if top_k is not None:
        top_k = _int(top_k, source, "top_k")
    max_queries = data.get("max_queries")
    if max_queries is not None:
        max_queries = _int(max_queries, source, "max_queries")
    victim = _mapping(data.get("victim"), source, "victim")
    extra = set(victim) - {"method", "backbone", "hp"}
    if extra:
        raise grid_error(source, "victim", f"unknown keys {sorted(extra)}")
    trainer = _mapping(data.get("trainer"), source, "trainer")
    unknown_trainer = set(trainer) - set(TRAINER_DEFAULTS) - {"strategy", "limit_train_batches"}
    if unknown_trainer:
        raise grid_error(source, f"trainer.{min(unknown_trainer)}", "unknown trainer setting")
    trainer = {**TRAINER_DEFAULTS, **trainer}
    accelerator = trainer["accelerator"]
    if accelerator not in ACCELERATORS:
        raise grid_error(
            source, "trainer.accelerator", f"expected one of {ACCELERATORS}, got {accelerator!r}"
        )
    devices = trainer["devices"]
    if devices != "auto" and (
        isinstance(devices, bool) or not isinstance(devices, int) or devices < 1
    ):
        raise grid_error(
            source, "trainer.devices", f"expected a positive integer or 'auto', got {devices!r}"
        )
    _int(trainer["clean_epochs"], source, "trainer.clean_epochs")
    if trainer["defense_epochs"] is not None:
        _int(trainer["defense_epochs"], source, "trainer.defense_epochs")
    seed = _int(data.get("seed", 0), source, "seed", positive=False)
    if not 0 <= seed <= MAX_SEED:
        raise grid_error(source, "seed", f"expected an integer in [0, {MAX_SEED}], got {seed}")
    plugins = data.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise grid_error(source, "plugins", "expected a list of module names or .py paths")
    return Grid(
        name=str(data.get("name") or Path(source).stem),
        profile=profile,
        seed=seed,
        top_k=top_k,
        datasets=_parse_datasets(data["datasets"], source),
        bits=bits,
        method=_name(victim.get("method", "dpsh"), source, "victim.method"),
        backbone=_name(victim.get("backbone", "small_cnn"), source, "victim.backbone"),
        victim_hp=_mapping(victim.get("hp"), source, "victim.hp"),
        trainer=trainer,
        defenses=_parse_defenses(data["defenses"], source),
        attacks=_parse_attacks(data["attacks"], source),
        plugins=tuple(plugins),
        wandb=_mapping(data.get("wandb"), source, "wandb"),
        leaderboard_dir=_name(
            data.get("leaderboard_dir", "leaderboard"), source, "leaderboard_dir"
        ),
        max_queries=max_queries,
        source=source,
        ranking=parse_ranking(data.get("ranking"), source),
    )


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid YAML file.

    Raises:
        GridError: if the file is missing, is not YAML, or does not follow the schema.
    """
    path = Path(path)
    if not path.is_file():
        raise GridError(f"{path}: grid file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise GridError(f"{path}: not valid YAML: {yaml_problem(err)}") from None
    return parse_grid(data, str(path))
