"""The figures of one leaderboard row computed from its cells (protocol v2).

* ``worst_case_map``: mean over the queries of the **minimum** AP@k over every bounded
  untargeted attack (per-query worst case, as AutoAttack counts a sample robust only if
  every attack fails on it); ``worst_case_map_se`` its standard error over the queries.
* ``worst_case_tmap``: mean over the queries of the **maximum** target AP@k over every
  bounded targeted attack (``worst_case_tmap_se``).
* ``min_attack_map``: the per-attack minimum (the smallest ``adv_map`` of those attacks),
  with ``min_attack_map_se`` (that cell's standard error) and ``worst_attack``.
* ``transfer_<attack>``: mAP of this model on the adversarial queries crafted on ``none``.
* the robustness curve (``curve_attack``, ``curve_eps<n>``: mAP at ε = n/255).
* ``flags``: ``masking:<attack>`` (a transfer attack beats every white-box attack by more
  than one standard error), ``nonmonotone`` (robust mAP rises along the ε sweep),
  ``low_clean`` (clean mAP below the profile's floor, :data:`CLEAN_FLOORS`).

Unbounded attacks (ProS-GAN as published) never enter a worst case. A worst case needs the
per-query AP of every attack it covers; where one lacks it (a figure copied from a paper)
the worst case is blank and the row is ranked by ``min_attack_map``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from robust_hashing.leaderboard.fields import SchemaError
from robust_hashing.leaderboard.schema import CellResult

CLEAN_FLOORS = {"quick": 0.5, "paper": 0.5}  # an untrained or collapsed model scores below
NAN = math.nan


def standard_error(values: np.ndarray) -> float:
    """Sample standard deviation over √n (NaN with fewer than two values)."""
    if len(values) < 2:
        return NAN
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def per_query_matrix(cells: Sequence[CellResult], name: str) -> np.ndarray | None:
    """Cells × queries AP matrix (columns in the first cell's query order), None if any lacks it.

    Raises:
        SchemaError: if the cells do not cover the same queries.
    """
    if not cells or any(c.per_query is None for c in cells):
        return None
    first = cells[0].per_query
    assert first is not None
    order = list(first["idx"])
    rows = []
    for cell in cells:
        pq = cell.per_query
        assert pq is not None
        by_idx = dict(zip(pq["idx"], pq["ap"], strict=True))
        if set(by_idx) != set(order):
            raise SchemaError(
                f"leaderboard row {name}: {cell.column} was measured on other queries than "
                f"{cells[0].column}; a worst case needs the same queries"
            )
        rows.append([by_idx[i] for i in order])
    return np.asarray(rows, dtype=np.float64)


def worst_case(cells: Sequence[CellResult], mode: str, name: str = "") -> tuple[float, float]:
    """(worst case, its standard error) over the bounded ``mode`` cells (NaN if none/unknown)."""
    chosen = sorted((c for c in cells if c.mode == mode and c.bounded), key=lambda c: c.column)
    matrix = per_query_matrix(chosen, name)
    if matrix is None:
        return NAN, NAN
    per_query = matrix.min(axis=0) if mode == "untargeted" else matrix.max(axis=0)
    return float(per_query.mean()), standard_error(per_query)


def min_attack(cells: Sequence[CellResult]) -> tuple[float, float, str]:
    """(smallest ``adv_map`` over bounded untargeted cells, its SE, its column)."""
    bounded = [c for c in cells if c.mode == "untargeted" and c.bounded]
    worst = min(bounded, key=lambda c: (c.figure, c.column), default=None)
    if worst is None:
        return NAN, NAN, ""
    se = NAN if worst.figure_se is None else worst.figure_se
    return worst.figure, se, worst.column


def transfer_figures(cells: Sequence[CellResult]) -> dict[str, tuple[float, float]]:
    """``transfer_<attack>`` → (mAP, SE) for the row's cells that carry a transfer figure."""
    out = {}
    for cell in cells:
        if cell.transfer is not None:
            se = cell.transfer.get("adv_map_se")
            out[f"transfer_{cell.attack}"] = (cell.transfer["adv_map"], NAN if se is None else se)
    return out


def eps_column(eps: float) -> str:
    """``curve_eps8`` for ε = 8/255 (``curve_eps0.05`` off the 1/255 grid)."""
    steps = eps * 255
    if abs(steps - round(steps)) < 1e-4:
        return f"curve_eps{round(steps)}"
    return f"curve_eps{eps:.4g}"


def curve_of(cells: Sequence[CellResult]) -> dict[str, Any] | None:
    """The robustness curve recorded in one of the row's cells, None if none has one."""
    curves = [c.curve for c in sorted(cells, key=lambda c: c.column) if c.curve is not None]
    return curves[0] if curves else None


def curve_figures(curve: dict[str, Any] | None) -> dict[str, Any]:
    """``curve_attack`` and ``curve_eps<n>`` columns of a curve (empty without one)."""
    if curve is None:
        return {}
    out: dict[str, Any] = {"curve_attack": curve["attack"]}
    for eps, value in zip(curve["eps"], curve["adv_map"], strict=True):
        out[eps_column(eps)] = value
    return out


def flags(
    clean_map: float,
    profile: str,
    best_white_box: tuple[float, float],
    transfers: dict[str, tuple[float, float]],
    curve: dict[str, Any] | None,
) -> str:
    """The row's sanity flags, space-separated (see the module docstring)."""
    out = []
    white, white_se = best_white_box
    if not math.isnan(white):
        for column, (value, se) in sorted(transfers.items()):
            margin = max((s for s in (se, white_se) if not math.isnan(s)), default=0.0)
            if value < white - margin:
                out.append(f"masking:{column.removeprefix('transfer_')}")
    if curve is not None:
        values = curve["adv_map"]
        if any(b > a for a, b in pairwise(values)):
            out.append("nonmonotone")
    floor = CLEAN_FLOORS.get(profile)
    if floor is not None and clean_map < floor:
        out.append("low_clean")
    return " ".join(out)
