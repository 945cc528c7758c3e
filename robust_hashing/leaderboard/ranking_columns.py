"""The ranking protocol's column group of the leaderboard (RobRank's figures and ERS, §8).

:func:`add_ranking` puts each :class:`~robust_hashing.leaderboard.ranking.RankingResult`
into the rows of the same dataset, code length, victim, profile, threat model, mAP depth
and defense (the defended model the mAP cells attack), as the columns of
:data:`RANKING_COLUMNS`: the ten figures, ERS, ERS of the clean figures, ERS-BN (ours), the
clean R@1 (%) and mAP of the ranking cell's queries and their number
(``ranking_n_queries``, which may be smaller than the mAP cells' ``n_queries``: the ranking
protocol runs nine attacks). A record with no such row gets a row of its own (mAP columns
empty, no rank). The group touches no mAP column: ranking figures enter neither ``worst_case_map``
nor ``min_attack_map`` nor the rank. Without ranking records the frame is returned as is.
"""

from __future__ import annotations

import math

import pandas as pd

from robust_hashing.leaderboard.columns import ID_COLUMNS
from robust_hashing.leaderboard.fields import SchemaError
from robust_hashing.leaderboard.ranking import FIGURE_KEYS, RankingResult

RANKING_COLUMNS = [
    *FIGURE_KEYS, "ers", "ers_clean", "ers_bn", "ranking_recall_at_1", "ranking_map",
    "ranking_n_queries",
]  # fmt: skip
# the leaderboard's row key but the query count: the ranking cell may attack fewer queries
ROW_KEY = [c for c in ID_COLUMNS if c != "n_queries"]


def _key(values: list[object]) -> tuple[object, ...]:
    """A row key with pandas' missing values and numpy scalars as plain Python values."""
    out: list[object] = []
    for value in values:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        else:
            out.append(value.item() if hasattr(value, "item") else value)
    return tuple(out)


def record_key(record: RankingResult) -> tuple[object, ...]:
    """The leaderboard row key of ``record`` (as :data:`ROW_KEY`)."""
    values = {**vars(record), "threat": record.threat_model}
    return _key([values[c] for c in ROW_KEY])


def ranking_values(record: RankingResult) -> dict[str, float | int]:
    """The column group's values of one record."""
    return {
        **record.figures,
        "ers": record.ers,
        "ers_clean": record.ers_clean,
        "ers_bn": math.nan if record.ers_bn is None else record.ers_bn,
        "ranking_recall_at_1": record.recall_at_1,
        "ranking_map": math.nan if record.map is None else record.map,
        "ranking_n_queries": record.n_queries,
    }


def add_ranking(frame: pd.DataFrame, records: list[RankingResult]) -> pd.DataFrame:
    """``frame`` with the ranking column group appended (see the module docstring).

    Raises:
        SchemaError: if two records share a row, or an attack column has a group's name.
    """
    if not records:
        return frame
    clash = sorted(set(RANKING_COLUMNS) & set(frame.columns))
    if clash:
        raise SchemaError(f"leaderboard: attack column {clash[0]!r} clashes with a ranking column")
    by_key: dict[tuple[object, ...], RankingResult] = {}
    for record in records:
        key = record_key(record)
        if key in by_key:
            raise SchemaError(
                f"ranking records: two records for the row {key} (queries "
                f"{by_key[key].n_queries} and {record.n_queries}); keep one"
            )
        by_key[key] = record
    frame = frame.copy()
    keys = [_key(list(row)) for row in frame[ROW_KEY].itertuples(index=False)]
    group: dict[str, list[object]] = {c: [math.nan] * len(frame) for c in RANKING_COLUMNS}
    for i, key in enumerate(keys):
        if key in by_key:
            for column, value in ranking_values(by_key[key]).items():
                group[column][i] = value
    for column in RANKING_COLUMNS:
        dtype = "Int64" if column == "ranking_n_queries" else "float64"
        frame[column] = pd.Series(group[column], index=frame.index, dtype=dtype)
    matched = set(keys)
    unmatched = sorted(
        ((k, r) for k, r in by_key.items() if k not in matched), key=lambda kv: str(kv[0])
    )
    if not unmatched:
        return frame
    extra = pd.DataFrame(
        [
            {**dict(zip(ROW_KEY, key, strict=True)), "n_queries": record.n_queries,
             "source": record.provenance.source, **ranking_values(record)}
            for key, record in unmatched
        ]
    )  # fmt: skip
    out = pd.concat([frame, extra], ignore_index=True)[list(frame.columns)]
    for name in ("rank", "top_k", "n_queries", "ranking_n_queries"):
        out[name] = out[name].astype("Int64")
    return out


def ranking_note(frame: pd.DataFrame) -> str:
    """A line break and an HTML paragraph on the ranking columns ("" when the frame has none)."""
    if "ers" not in frame.columns:
        return ""
    return (
        "\n<p>Ranking protocol (RobRank, protocol §8; another protocol, in no worst case): "
        "<code>ca_plus</code> … <code>gtt</code>, the ten figures of the nine ranking "
        "attacks in Hamming space; <code>ers</code>, their Empirical Robustness Score "
        "(higher is better); <code>ers_clean</code>, ERS of the clean queries with the same "
        "draws; <code>ers_bn</code> (ours), the mean attacked/clean ratio of the ERS terms "
        "(100 = no degradation); <code>ranking_recall_at_1</code> (%) and "
        "<code>ranking_map</code>, clean retrieval of the same queries; "
        "<code>ranking_n_queries</code>, how many queries the ranking attacks perturbed.</p>"
    )
