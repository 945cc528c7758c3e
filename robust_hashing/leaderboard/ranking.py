"""Ranking-protocol records (RobRank's ten figures and ERS, protocol §8): schema and files.

One record per defended model, written by the runner's ``ranking`` cell. It lives in the
leaderboard folder's ``ranking/`` tree (beside ``results/``, never inside it: it is not an
mAP attack cell and enters no worst case) at :func:`ranking_path`, and holds the fields of
:class:`RankingResult`:

* ``figures`` and ``clean_figures``: the ten figures (keys of
  :data:`~robust_hashing.metrics.ers.RANKING_FIGURES`) under attack and on the clean
  queries with the same draws;
* ``ers``, ``ers_clean`` and ``ers_bn``: checked on load against the figures;
* ``recall_at_1`` (%) and ``map`` (mAP@``top_k``): clean retrieval of the same queries;
* ``attack_hp``: the effective hyper-parameters of each ranking attack; ``per_query``:
  ``{"idx": [...], "<figure>": [...], "clean_<figure>": [...], "recall_at_1": [...],
  "ap": [...]}`` (``ap`` null where a query has no relevant item in its top k).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robust_hashing.io import write_text_atomic
from robust_hashing.leaderboard.fields import SchemaError, check_hp, check_threat, threat_label
from robust_hashing.leaderboard.schema import SOURCES, Provenance

RANKING_DIR = "ranking"  # the records' folder inside a leaderboard folder
FIGURE_KEYS = (
    "ca_plus", "ca_minus", "qa_plus", "qa_minus", "tma", "es_d", "es_r", "ltm", "gtm", "gtt",
)  # fmt: skip  # = robust_hashing.metrics.ers.RANKING_FIGURES (kept torch-free here)
ERS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RankingResult:
    """The ranking figures of one defended model (see the module docstring)."""

    dataset: str
    bits: int
    backbone: str
    method: str
    defense: str
    profile: str
    top_k: int | None
    n_queries: int
    threat: dict[str, Any]
    figures: dict[str, float]
    clean_figures: dict[str, float]
    ers: float
    ers_clean: float
    ers_bn: float | None
    recall_at_1: float
    map: float | None
    attack_hp: dict[str, Any]
    defense_hp: dict[str, Any]
    provenance: Provenance
    per_query: dict[str, Any] | None = None

    @property
    def threat_model(self) -> str:
        """The threat model as text: ``linf 8/255``."""
        return threat_label(self.threat)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (provenance nested)."""
        return dataclasses.asdict(self)


def _num(value: Any, where: str, *, nullable: bool = False) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SchemaError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _int(value: Any, where: str, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SchemaError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _figures(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != set(FIGURE_KEYS):
        raise SchemaError(f"{where}: expected an object with exactly the keys {FIGURE_KEYS}")
    out: dict[str, float] = {}
    for key in FIGURE_KEYS:
        number = _num(value[key], f"{where}.{key}")
        assert number is not None  # not nullable
        out[key] = number
    return out


def _per_query(value: Any, where: str, n_queries: int) -> dict[str, Any]:
    keys = {"idx", "recall_at_1", "ap", *FIGURE_KEYS, *(f"clean_{k}" for k in FIGURE_KEYS)}
    if not isinstance(value, dict) or set(value) != keys:
        raise SchemaError(f"{where}: expected the keys idx, ap, recall_at_1 and each figure")
    out: dict[str, Any] = {}
    for key in sorted(keys):
        column = value[key]
        if not isinstance(column, list) or len(column) != n_queries:
            raise SchemaError(f"{where}.{key}: expected an array of {n_queries} values")
        if key == "idx":
            if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in column):
                raise SchemaError(f"{where}.idx: expected non-negative integers")
            if len(set(column)) != len(column):
                raise SchemaError(f"{where}.idx: a query index is listed twice")
            out[key] = list(column)
        else:
            out[key] = [_num(v, f"{where}.{key}[{i}]", nullable=key == "ap")
                        for i, v in enumerate(column)]  # fmt: skip
    return out


def _check_ers(values: dict[str, Any], source: str) -> None:
    """The stored ERS, ERS of the clean figures and ERS-BN must follow from the figures."""
    from robust_hashing.metrics.ers import benign_normalised_ers, ers

    expected = {
        "ers": ers(values["figures"]),
        "ers_clean": ers(values["clean_figures"]),
        "ers_bn": benign_normalised_ers(values["figures"], values["clean_figures"]),
    }
    for name, want in expected.items():
        got = values[name]
        if got is None and math.isnan(want):
            continue
        if got is None or not math.isclose(got, want, rel_tol=ERS_TOLERANCE, abs_tol=1e-9):
            raise SchemaError(
                f"{source}: field '{name}': {got!r} does not follow from the figures ({want:.6g})"
            )


def parse_ranking_result(data: Any, source: str = "<dict>") -> RankingResult:
    """Validate a decoded ranking record and build a :class:`RankingResult`.

    Raises:
        SchemaError: naming ``source`` and the offending field.
    """
    fields = {f.name for f in dataclasses.fields(RankingResult)}
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: expected a JSON object")
    unknown = sorted(set(data) - fields)
    if unknown:
        raise SchemaError(f"{source}: unknown field '{unknown[0]}'")
    missing = sorted(fields - {"per_query"} - set(data))
    if missing:
        raise SchemaError(f"{source}: missing required field '{missing[0]}'")
    w = f"{source}: field"
    values: dict[str, Any] = {
        name: _str(data[name], f"{w} '{name}'")
        for name in ("dataset", "backbone", "method", "defense", "profile")
    }
    values["bits"] = _int(data["bits"], f"{w} 'bits'")
    values["top_k"] = _int(data["top_k"], f"{w} 'top_k'", nullable=True)
    n_queries = _int(data["n_queries"], f"{w} 'n_queries'")
    assert n_queries is not None
    values["n_queries"] = n_queries
    values["threat"] = check_threat(data["threat"], f"{w} 'threat'")
    values["figures"] = _figures(data["figures"], f"{w} 'figures'")
    values["clean_figures"] = _figures(data["clean_figures"], f"{w} 'clean_figures'")
    for name in ("ers", "ers_clean", "recall_at_1"):
        values[name] = _num(data[name], f"{w} '{name}'")
    for name in ("ers_bn", "map"):
        values[name] = _num(data[name], f"{w} '{name}'", nullable=True)
    for name in ("attack_hp", "defense_hp"):
        values[name] = check_hp(data[name], f"{w} '{name}'")
    if data.get("per_query") is not None:
        values["per_query"] = _per_query(data["per_query"], f"{w} 'per_query'", n_queries)
    prov = data["provenance"]
    if not isinstance(prov, dict) or set(prov) != {f.name for f in dataclasses.fields(Provenance)}:
        raise SchemaError(f"{w} 'provenance': expected the provenance fields")
    if prov["source"] not in SOURCES:
        raise SchemaError(f"{w} 'provenance.source': expected one of {SOURCES}")
    _check_ers(values, source)
    return RankingResult(**values, provenance=Provenance(**prov))


def ranking_path(ranking_dir: str | Path, result: RankingResult) -> Path:
    """``<dataset>/<bits>bit/<method>-<backbone>/<profile>/top<k>/<norm>-<eps>/<defense>.json``.

    The folders of an mAP record (:func:`~robust_hashing.leaderboard.result_path`) without
    the query count, under ``ranking/`` and with the defense as the file name: one record
    per leaderboard row (a re-run with another query count replaces it).
    """
    top = "all" if result.top_k is None else result.top_k
    return (
        Path(ranking_dir)
        / result.dataset
        / f"{result.bits}bit"
        / f"{result.method}-{result.backbone}"
        / result.profile
        / f"top{top}"
        / threat_label(result.threat, "-")
        / f"{result.defense}.json"
    )


def dump_ranking_result(result: RankingResult, ranking_dir: str | Path) -> Path:
    """Write ``result`` (validated first) to its path under ``ranking_dir``; returns the path."""
    data = result.to_dict()
    parse_ranking_result(data, f"ranking record of {result.defense}")
    path = ranking_path(ranking_dir, result)
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def load_ranking_results(ranking_dir: str | Path) -> list[RankingResult]:
    """Every ``*.json`` record under ``ranking_dir`` (none if it does not exist), validated.

    Raises:
        SchemaError: naming the first invalid file, or one whose location does not match.
    """
    root = Path(ranking_dir)
    out = []
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SchemaError(f"{path}: not a valid JSON file: {err}") from None
        result = parse_ranking_result(data, str(path))
        expected = ranking_path(Path(), result).parts
        if path.parts[-len(expected) :] != expected:
            raise SchemaError(
                f"{path}: location does not match its fields (expected {'/'.join(expected)})"
            )
        out.append(result)
    return out
