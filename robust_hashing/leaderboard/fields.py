"""Nested fields of a result JSON (protocol v2): threat model, per-query AP, transfer, ε sweep.

Each ``check_*`` function validates one decoded field and returns it normalised (numbers as
floats); a problem raises :class:`SchemaError` naming the file and the field. The formats:

* ``threat``: ``{"norm": "linf", "eps": 0.0314}`` (ε in [0, 1] pixel units);
* ``per_query``: ``{"idx": [query dataset indices], "ap": [AP@k per query]}``, in query
  order, one entry per attacked query (AP 0 for a query with no relevant item in its top
  k, so the mean is the cell's figure);
* ``transfer``: ``{"source": "none", "adv_map": …, "adv_map_se": …|null, "per_query": …}``:
  the attack's adversarial queries crafted on the ``source`` model, scored on this one;
* ``curve``: ``{"attack": …, "eps": [...], "adv_map": [...], "adv_map_se": [...]}``: the
  robustness curve (mAP under that attack at each ε) of the cell's defended model.
"""

from __future__ import annotations

import math
from typing import Any


class SchemaError(ValueError):
    """A result file that does not follow the schema (the message names file and field)."""


NORMS = ("linf",)


def _number(value: Any, where: str, *, nullable: bool = False, unit: bool = False) -> Any:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"{where}: expected a finite number, got {value!r}")
    if unit and not 0.0 <= value <= 1.0:
        raise SchemaError(f"{where}: {value} is outside [0, 1]")
    return float(value)


def _object(value: Any, keys: set[str], optional: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(f"{where}: expected a JSON object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise SchemaError(f"{where}: unknown field '{unknown[0]}'")
    missing = sorted(keys - optional - set(value))
    if missing:
        raise SchemaError(f"{where}: missing required field '{missing[0]}'")
    return dict(value)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(f"{where}: expected a JSON array")
    return value


def check_threat(value: Any, where: str) -> dict[str, Any]:
    """``{"norm": "linf", "eps": ε}`` with ε in [0, 1]."""
    data = _object(value, {"norm", "eps"}, set(), where)
    if data["norm"] not in NORMS:
        raise SchemaError(f"{where}.norm: expected one of {NORMS}, got {data['norm']!r}")
    return {"norm": data["norm"], "eps": _number(data["eps"], f"{where}.eps", unit=True)}


def check_hp(value: Any, where: str) -> dict[str, Any]:
    """A hyper-parameter dict: a JSON object with string keys."""
    if not isinstance(value, dict):
        raise SchemaError(f"{where}: expected a JSON object")
    return dict(value)


def check_per_query(value: Any, where: str, n_queries: int | None = None) -> dict[str, Any]:
    """``{"idx": [int], "ap": [number in [0, 1]]}`` of equal length, indices distinct."""
    data = _object(value, {"idx", "ap"}, set(), where)
    idx, ap = _list(data["idx"], f"{where}.idx"), _list(data["ap"], f"{where}.ap")
    if len(idx) != len(ap):
        raise SchemaError(f"{where}: {len(idx)} indices but {len(ap)} AP values")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in idx):
        raise SchemaError(f"{where}.idx: expected non-negative integers")
    if len(set(idx)) != len(idx):
        raise SchemaError(f"{where}.idx: a query index is listed twice")
    if n_queries is not None and len(idx) != n_queries:
        raise SchemaError(f"{where}: {len(idx)} queries, but n_queries is {n_queries}")
    values = [_number(v, f"{where}.ap[{i}]", unit=True) for i, v in enumerate(ap)]
    return {"idx": list(idx), "ap": values}


def check_transfer(value: Any, where: str) -> dict[str, Any]:
    """The transfer figure of an untargeted cell (see the module docstring)."""
    keys = {"source", "adv_map", "adv_map_se", "per_query"}
    data = _object(value, keys, {"adv_map_se", "per_query"}, where)
    if not isinstance(data["source"], str) or not data["source"]:
        raise SchemaError(f"{where}.source: expected a defense name")
    out = {
        "source": data["source"],
        "adv_map": _number(data["adv_map"], f"{where}.adv_map", unit=True),
        "adv_map_se": _number(data.get("adv_map_se"), f"{where}.adv_map_se", nullable=True),
    }
    if data.get("per_query") is not None:
        out["per_query"] = check_per_query(data["per_query"], f"{where}.per_query")
    return out


def check_curve(value: Any, where: str) -> dict[str, Any]:
    """The robustness curve of a cell's model (see the module docstring)."""
    data = _object(value, {"attack", "eps", "adv_map", "adv_map_se"}, {"adv_map_se"}, where)
    if not isinstance(data["attack"], str) or not data["attack"]:
        raise SchemaError(f"{where}.attack: expected an attack name")
    eps = [
        _number(e, f"{where}.eps[{i}]", unit=True)
        for i, e in enumerate(_list(data["eps"], f"{where}.eps"))
    ]
    maps = _list(data["adv_map"], f"{where}.adv_map")
    ses = _list(data.get("adv_map_se") or [None] * len(maps), f"{where}.adv_map_se")
    if not eps or len(maps) != len(eps) or len(ses) != len(eps):
        raise SchemaError(f"{where}: eps, adv_map and adv_map_se must have one entry per ε")
    if eps != sorted(set(eps)):
        raise SchemaError(f"{where}.eps: expected increasing, distinct values")
    return {
        "attack": data["attack"],
        "eps": eps,
        "adv_map": [_number(v, f"{where}.adv_map[{i}]", unit=True) for i, v in enumerate(maps)],
        "adv_map_se": [
            _number(v, f"{where}.adv_map_se[{i}]", nullable=True) for i, v in enumerate(ses)
        ],
    }


def check_nested(values: dict[str, Any], source: str) -> None:
    """Validate (and normalise in place) the nested protocol-v2 fields."""
    values["threat"] = check_threat(values["threat"], f"{source}: field 'threat'")
    for name in ("attack_hp", "defense_hp"):
        values[name] = check_hp(values[name], f"{source}: field '{name}'")
    if values.get("per_query") is not None:
        values["per_query"] = check_per_query(
            values["per_query"], f"{source}: field 'per_query'", values.get("n_queries")
        )
    if values.get("transfer") is not None:
        if values["mode"] != "untargeted":
            raise SchemaError(f"{source}: field 'transfer': only untargeted cells have one")
        values["transfer"] = check_transfer(values["transfer"], f"{source}: field 'transfer'")
    if values.get("curve") is not None:
        values["curve"] = check_curve(values["curve"], f"{source}: field 'curve'")


def threat_label(threat: dict[str, Any], sep: str = " ") -> str:
    """``linf 8/255`` (``sep="-"``, ``/``→``_``: ``linf-8_255``, the path segment)."""
    eps = float(threat["eps"])
    steps = eps * 255
    text = f"{round(steps)}/255" if abs(steps - round(steps)) < 1e-4 else f"{eps:.6g}"
    label = f"{threat['norm']}{sep}{text}"
    return label.replace("/", "_") if sep != " " else label
