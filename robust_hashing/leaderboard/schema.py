"""Result JSON schema (protocol v2): one file per grid cell, validated on load.

A cell lives at :func:`result_path` (dataset, bits, victim, profile, mAP depth and query
count, threat model, defense, attack) and holds the fields of :class:`CellResult` (figures
as JSON numbers, never strings), a nested ``provenance`` object (:class:`Provenance`) and
the nested fields of :mod:`robust_hashing.leaderboard.fields`. Every field is required
except those marked optional; unknown fields are rejected, so a typo cannot silently drop a
figure. A protocol-v1 record (no ``threat``, ``attack_hp``, ``defense_hp`` nor any other
v2 field, at the v1 path ``<dataset>/<bits>bit/<defense>/<attack>.json``) is still read so
that old boards render, as a *legacy* record (:attr:`CellResult.legacy`: no threat model,
no worst case, flagged ``v1`` on the leaderboard), but never written: old records are
re-produced by the runner, not edited.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robust_hashing.constants import MODES
from robust_hashing.io import write_text_atomic
from robust_hashing.leaderboard.fields import SchemaError, check_nested, threat_label

SOURCES = ("measured", "reported")


@dataclass(frozen=True)
class Provenance:
    """Where a number came from."""

    config_hash: str
    code_commit: str
    seed: int
    python: str
    torch: str
    lightning: str
    device: str
    seconds: float
    source: str  # "measured" (by the runner) or "reported" (copied from a paper)

    @classmethod
    def measured(cls, config_hash: str, payload: dict[str, Any]) -> Provenance:
        """The provenance of a cell the runner measured, from its ``done.json`` payload."""
        env = payload["environment"]
        return cls(
            config_hash=config_hash,
            code_commit=env["code_commit"],
            seed=int(payload["seed"]),
            python=env["python"],
            torch=env["torch"],
            lightning=env["lightning"],
            device=env["device"],
            seconds=float(payload["seconds"]),
            source="measured",
        )


@dataclass(frozen=True)
class CellResult:
    """Figures of one (dataset, bits, victim, defense, attack, mode) cell.

    ``adv_map`` is required for untargeted attacks, ``clean_tmap``/``adv_tmap`` for targeted
    ones; ``theory`` is the attack's ideal-code bound (null if it has none). ``top_k`` (the
    mAP depth; null = the full database) and ``n_queries`` (how many queries were attacked)
    say what the figures measure; both are optional for figures copied from a paper that
    does not state them. ``figure_se`` is the standard error over the queries of the
    leaderboard figure (``adv_map`` or ``adv_tmap``; optional, null where unknown).

    ``threat`` (``{"norm": "linf", "eps": ε}``), ``attack_hp`` and ``defense_hp`` (the full
    effective hyper-parameters; ``defense`` is the grid's alias, the registered name is in
    ``defense_hp["name"]`` when they differ) say which experiment produced the figures.
    ``per_query`` (the figure's AP@k per query, with the query indices), ``transfer`` and
    ``curve`` are optional (null for figures copied from a paper).
    """

    dataset: str
    bits: int
    backbone: str
    method: str
    defense: str
    attack: str
    mode: str
    profile: str
    clean_map: float
    adv_map: float | None
    clean_tmap: float | None
    adv_tmap: float | None
    asr: float
    linf: float
    l2: float
    rmse: float
    theory: float | None
    provenance: Provenance
    threat: dict[str, Any] | None  # None: a protocol-v1 (legacy) record
    attack_hp: dict[str, Any] | None
    defense_hp: dict[str, Any] | None
    bit_flip: float | None = None
    bounded: bool = True
    footnote: str = ""
    top_k: int | None = None
    n_queries: int | None = None
    figure_se: float | None = None
    per_query: dict[str, Any] | None = None
    transfer: dict[str, Any] | None = None
    curve: dict[str, Any] | None = None

    @property
    def figure(self) -> float:
        """The leaderboard figure: mAP under attack (untargeted) or t-mAP (targeted)."""
        value = self.adv_map if self.mode == "untargeted" else self.adv_tmap
        assert value is not None  # guaranteed by validation
        return value

    @property
    def column(self) -> str:
        """Column name of this attack in the leaderboard (``<attack>[-targeted]``)."""
        return self.attack + ("-targeted" if self.mode == "targeted" else "")

    @property
    def threat_model(self) -> str:
        """The threat model as text: ``linf 8/255`` (``""`` for a legacy record)."""
        return "" if self.threat is None else threat_label(self.threat)

    @property
    def legacy(self) -> bool:
        """Whether this is a protocol-v1 record (read, never written)."""
        return self.threat is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (provenance nested)."""
        return dataclasses.asdict(self)


STR, INT, NUM, BOOL, OBJ = "string", "integer", "number", "boolean", "object"
_FIELDS: dict[str, tuple[str, bool]] = {  # name -> (type, nullable)
    "dataset": (STR, False), "bits": (INT, False), "backbone": (STR, False),
    "method": (STR, False), "defense": (STR, False), "attack": (STR, False),
    "mode": (STR, False), "profile": (STR, False), "clean_map": (NUM, False),
    "adv_map": (NUM, True), "clean_tmap": (NUM, True), "adv_tmap": (NUM, True),
    "asr": (NUM, False), "linf": (NUM, False), "l2": (NUM, False), "rmse": (NUM, False),
    "theory": (NUM, True), "bit_flip": (NUM, True), "bounded": (BOOL, False),
    "footnote": (STR, False), "top_k": (INT, True), "n_queries": (INT, True),
    "figure_se": (NUM, True), "threat": (OBJ, False), "attack_hp": (OBJ, False),
    "defense_hp": (OBJ, False), "per_query": (OBJ, True), "transfer": (OBJ, True),
    "curve": (OBJ, True),
}  # fmt: skip
_OPTIONAL = {
    "bit_flip", "bounded", "footnote", "top_k", "n_queries", "figure_se", "per_query",
    "transfer", "curve",
}  # fmt: skip
_PROVENANCE: dict[str, tuple[str, bool]] = {
    "config_hash": (STR, False), "code_commit": (STR, False), "seed": (INT, False),
    "python": (STR, False), "torch": (STR, False), "lightning": (STR, False),
    "device": (STR, False), "seconds": (NUM, False), "source": (STR, False),
}  # fmt: skip
_UNIT_INTERVAL = ("clean_map", "adv_map", "clean_tmap", "adv_tmap", "asr", "theory", "bit_flip")


def _check(value: Any, kind: str, nullable: bool, where: str) -> Any:
    if value is None:
        if nullable:
            return None
        raise SchemaError(f"{where}: must not be null")
    ok = {
        STR: isinstance(value, str),
        INT: isinstance(value, int) and not isinstance(value, bool),
        NUM: isinstance(value, int | float) and not isinstance(value, bool),
        BOOL: isinstance(value, bool),
        OBJ: isinstance(value, dict),
    }[kind]
    if not ok:
        article = "an" if kind in (INT, OBJ) else "a"
        raise SchemaError(
            f"{where}: expected {article} {kind}, got {type(value).__name__} {value!r}"
        )
    if kind == NUM:
        if not math.isfinite(value):
            raise SchemaError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    return value


def _fields(data: Any, table: dict[str, tuple[str, bool]], optional: set[str], where: str) -> dict:
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a JSON object")
    unknown = sorted(set(data) - set(table))
    if unknown:
        raise SchemaError(f"{where}: unknown field '{unknown[0]}'")
    out = {}
    for name, (kind, nullable) in table.items():
        if name not in data:
            if name in optional:
                continue
            raise SchemaError(f"{where}: missing required field '{name}'")
        out[name] = _check(data[name], kind, nullable, f"{where}: field '{name}'")
    return out


def parse_result(data: Any, source: str = "<dict>") -> CellResult:
    """Validate a decoded result JSON and build a :class:`CellResult`.

    Raises:
        SchemaError: naming ``source`` and the offending field.
    """
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: expected a JSON object")
    body = {k: v for k, v in data.items() if k != "provenance"}
    if "provenance" not in data:
        raise SchemaError(f"{source}: missing required field 'provenance'")
    v2 = {"threat", "attack_hp", "defense_hp", "per_query", "transfer", "curve"}
    legacy = not (v2 & set(data))  # protocol v1: read with its fields as they were
    if legacy:
        body = {**body, "threat": {}, "attack_hp": {}, "defense_hp": {}}
    values = _fields(body, _FIELDS, _OPTIONAL, source)
    prov = _fields(data["provenance"], _PROVENANCE, set(), f"{source}: provenance")
    if values["mode"] not in MODES:
        raise SchemaError(f"{source}: field 'mode': expected one of {MODES}")
    if prov["source"] not in SOURCES:
        raise SchemaError(f"{source}: field 'provenance.source': expected one of {SOURCES}")
    if "\n" in values.get("footnote", "") or "\r" in values.get("footnote", ""):
        raise SchemaError(f"{source}: field 'footnote': must be one line")
    for name in ("bits", "top_k", "n_queries"):
        if values.get(name) is not None and values[name] <= 0:
            raise SchemaError(f"{source}: field '{name}': must be positive")
    required = ("adv_map",) if values["mode"] == "untargeted" else ("clean_tmap", "adv_tmap")
    for name in required:
        if values.get(name) is None:
            raise SchemaError(f"{source}: field '{name}': required for {values['mode']} attacks")
    for name in _UNIT_INTERVAL:
        value = values.get(name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise SchemaError(f"{source}: field '{name}': {value} is outside [0, 1]")
    if legacy:
        values.update(threat=None, attack_hp=None, defense_hp=None)
    else:
        check_nested(values, source)
    return CellResult(**values, provenance=Provenance(**prov))


def result_path(results_dir: str | Path, result: CellResult) -> Path:
    """Where a cell's JSON lives under ``results_dir``.

    ``<dataset>/<bits>bit/<method>-<backbone>/<profile>/top<k>-<n>q/<norm>-<eps>/<defense>/
    <attack>[-targeted].json``, e.g. ``embedded/32bit/dpsh-small_cnn/quick/top1000-80q/
    linf-8_255/cgat/hag.json`` (``topall`` for the full ranking, ``unknownq`` where the
    query count is not stated).
    """
    if result.threat is None:  # protocol v1
        return (
            Path(results_dir)
            / result.dataset
            / f"{result.bits}bit"
            / result.defense
            / f"{result.column}.json"
        )
    top = "all" if result.top_k is None else result.top_k
    queries = "unknown" if result.n_queries is None else result.n_queries
    return (
        Path(results_dir)
        / result.dataset
        / f"{result.bits}bit"
        / f"{result.method}-{result.backbone}"
        / result.profile
        / f"top{top}-{queries}q"
        / threat_label(result.threat, "-")
        / result.defense
        / f"{result.column}.json"
    )


def load_result(path: str | Path) -> CellResult:
    """Read and validate one result file; its location must match its content.

    Raises:
        SchemaError: naming the file and the field.
    """
    path = Path(path)
    if path.is_dir():
        raise SchemaError(f"{path}: is a folder, expected a result file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SchemaError(f"{path}: not valid JSON: {err}") from None
    except UnicodeDecodeError as err:
        raise SchemaError(
            f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})"
        ) from None
    except OSError as err:
        raise SchemaError(f"{path}: cannot read: {err.strerror or err}") from None
    result = parse_result(data, str(path))
    expected = result_path(Path(), result).parts
    parts = path.parts[-len(expected) :]
    if tuple(parts) != tuple(expected):
        raise SchemaError(
            f"{path}: location does not match its fields (expected {'/'.join(expected)})"
        )
    return result


def load_results(results_dir: str | Path) -> list[CellResult]:
    """Every ``*.json`` file under ``results_dir``, validated, in sorted path order.

    A folder whose name ends in ``.json`` is not a result and is skipped (its files are not).

    Raises:
        SchemaError: if ``results_dir`` does not exist, or naming the first invalid file.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise SchemaError(f"{root}: no results folder (run the benchmark first)")
    return [load_result(p) for p in sorted(root.rglob("*.json")) if not p.is_dir()]


def dump_result(result: CellResult, results_dir: str | Path) -> Path:
    """Write ``result`` (validated first) to its path under ``results_dir``; returns the path."""
    if result.legacy:
        raise SchemaError(
            f"result {result.column} of {result.defense}: a protocol-v1 record (no threat "
            "model) is not written; re-produce it with `robust-hashing benchmark`"
        )
    data = result.to_dict()
    parse_result(data, f"result {result.column} of {result.defense}")
    path = result_path(results_dir, result)
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
