"""Ranking-protocol records: their schema, their column group, and no effect on the mAP board."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from robust_hashing.leaderboard import SchemaError, dump_result, parse_result, write_leaderboard
from robust_hashing.leaderboard.ranking import (
    FIGURE_KEYS,
    RANKING_DIR,
    dump_ranking_result,
    load_ranking_results,
    parse_ranking_result,
)
from robust_hashing.leaderboard.ranking_columns import RANKING_COLUMNS
from robust_hashing.leaderboard.render import check_leaderboard
from robust_hashing.metrics.ers import RANKING_FIGURES

from .conftest import CELL_DIR, make_record


def hand_ers(f: dict[str, float]) -> float:
    """Protocol §8's ERS written out by hand."""
    return (
        2 * f["ca_plus"] + (100 - f["ca_minus"]) + 2 * f["qa_plus"] + (100 - f["qa_minus"])
        + 100 * (1 - f["tma"]) + 50 * (2 - f["es_d"]) + f["es_r"] + f["ltm"] + f["gtm"]
        + f["gtt"]
    ) / 10  # fmt: skip


CLEAN = {"ca_plus": 50.0, "ca_minus": 2.0, "qa_plus": 50.0, "qa_minus": 2.0, "tma": 0.2,
         "es_d": 0.0, "es_r": 80.0, "ltm": 80.0, "gtm": 80.0, "gtt": 100.0}  # fmt: skip


# the figures at which every ERS term is 0
ZERO = {"ca_plus": 0.0, "ca_minus": 100.0, "qa_plus": 0.0, "qa_minus": 100.0, "tma": 1.0,
        "es_d": 2.0, "es_r": 0.0, "ltm": 0.0, "gtm": 0.0, "gtt": 0.0}  # fmt: skip


def figures(weakness: float) -> dict[str, float]:
    """Figures that degrade from :data:`CLEAN` to :data:`ZERO` as ``weakness`` goes 0 → 1."""
    return {k: CLEAN[k] + weakness * (ZERO[k] - CLEAN[k]) for k in CLEAN}


def term(name: str, f: dict[str, float]) -> float:
    """ERS term ``name`` of the figures ``f`` (the only non-zero term of a sum of ten)."""
    return 10 * hand_ers({**ZERO, name: f[name]})


def ranking_record(defense: str, weakness: float, **kw: Any) -> dict[str, Any]:
    attacked = figures(weakness)
    bn = sum(100 * term(k, attacked) / term(k, CLEAN) for k in CLEAN) / len(CLEAN)
    data: dict[str, Any] = {
        "dataset": "embedded", "bits": 32, "backbone": "small_cnn", "method": "dpsh",
        "defense": defense, "profile": "quick", "top_k": None, "n_queries": 4,
        "threat": {"norm": "linf", "eps": 8 / 255}, "figures": attacked,
        "clean_figures": dict(CLEAN), "ers": hand_ers(attacked), "ers_clean": hand_ers(CLEAN),
        "ers_bn": bn, "recall_at_1": 75.0, "map": 0.8,
        "attack_hp": {"rank_es": {"steps": 5}}, "defense_hp": {"name": defense},
        "provenance": make_record()["provenance"],
    }  # fmt: skip
    data.update(kw)
    return data


def board(tmp_path: Path, ranking: dict[str, float]) -> Path:
    """A leaderboard folder: mAP cells of none and cgat, ranking records of ``ranking``."""
    root = tmp_path / "board"
    for defense, value in (("none", 0.2), ("cgat", 0.5)):
        for attack, shift in (("hag", 0.0), ("sdha", 0.1)):
            per_query = {"idx": [0, 1, 2, 3], "ap": [value + shift] * 4}
            data = make_record(defense, attack, figure=value + shift, n_queries=4,
                               per_query=per_query)  # fmt: skip
            dump_result(parse_result(data), root / "results")
    for defense, weakness in ranking.items():
        dump_ranking_result(
            parse_ranking_result(ranking_record(defense, weakness)), root / RANKING_DIR
        )
    return root


def test_ranking_group_renders_and_leaves_the_map_columns_alone(tmp_path: Path) -> None:
    plain = write_leaderboard(board(tmp_path / "a", {}))
    root = board(tmp_path / "b", {"none": 0.8, "cgat": 0.3})
    frame = write_leaderboard(root)
    assert list(frame.columns) == [*plain.columns, *RANKING_COLUMNS]
    pd.testing.assert_frame_equal(frame[list(plain.columns)], plain)  # worst case, rank, ...
    assert list(frame["defense"]) == ["cgat", "none"]
    assert list(frame["worst_case_map"]) == pytest.approx([0.5, 0.2])
    cgat = frame.set_index("defense").loc["cgat"]
    assert cgat["ers"] == pytest.approx(hand_ers(figures(0.3)))
    assert cgat["ers_clean"] == pytest.approx(hand_ers(CLEAN))
    assert cgat["gtm"] == pytest.approx(CLEAN["gtm"] * 0.7)
    assert cgat["ranking_map"] == pytest.approx(0.8)
    none = frame.set_index("defense").loc["none"]
    assert none["ers"] < cgat["ers"] and none["ers_bn"] < cgat["ers_bn"] < 100
    csv = pd.read_csv(root / "leaderboard.csv")
    assert {"ers", *RANKING_FIGURES} <= set(csv.columns)
    page = (root / "leaderboard.html").read_text()
    assert "ers" in page and "Empirical Robustness Score" in page
    assert check_leaderboard(root) is None  # the check renders the ranking group too


def test_a_board_without_ranking_records_renders_as_before(tmp_path: Path) -> None:
    root = board(tmp_path, {})
    frame = write_leaderboard(root)
    assert not set(RANKING_COLUMNS) & set(frame.columns)
    assert "Empirical Robustness Score" not in (root / "leaderboard.html").read_text()


def test_fewer_ranking_queries_share_the_row_and_an_unknown_defense_gets_its_own(
    tmp_path: Path,
) -> None:
    root = board(tmp_path, {})
    for defense in ("none", "saat"):  # saat has no mAP cell
        record = parse_ranking_result(ranking_record(defense, 0.5, n_queries=2))
        dump_ranking_result(record, root / RANKING_DIR)
    frame = write_leaderboard(root)
    assert list(frame["defense"]) == ["cgat", "none", "saat"]
    assert list(frame["n_queries"]) == [4, 4, 2] and list(frame["rank"].iloc[:2]) == [1, 2]
    none, saat = frame.iloc[1], frame.iloc[2]
    assert none["ranking_n_queries"] == 2 and none["ers"] == pytest.approx(hand_ers(figures(0.5)))
    assert math.isnan(frame.iloc[0]["ers"])  # cgat: no ranking record
    assert saat["rank"] is pd.NA and math.isnan(saat["worst_case_map"])
    assert saat["ranking_n_queries"] == 2
    dump_ranking_result(  # a re-run with another query count replaces the record
        parse_ranking_result(ranking_record("none", 0.2, n_queries=3)), root / RANKING_DIR
    )
    none = write_leaderboard(root).set_index("defense").loc["none"]
    assert none["ranking_n_queries"] == 3 and none["ers"] == pytest.approx(hand_ers(figures(0.2)))


def test_ers_must_follow_from_the_figures(tmp_path: Path) -> None:
    data = ranking_record("none", 0.5)
    assert parse_ranking_result(data).ers == pytest.approx(hand_ers(figures(0.5)))
    with pytest.raises(SchemaError, match="field 'ers'"):
        parse_ranking_result({**data, "ers": data["ers"] + 1.0}, "r.json")
    with pytest.raises(SchemaError, match="field 'ers_bn'"):
        parse_ranking_result({**data, "ers_bn": 100.0}, "r.json")
    missing = {**data, "figures": {k: 1.0 for k in FIGURE_KEYS[:-1]}}
    with pytest.raises(SchemaError, match="field 'figures'"):
        parse_ranking_result(missing, "r.json")


def test_per_query_series_have_one_value_per_query(tmp_path: Path) -> None:
    keys = ["recall_at_1", "ap", *FIGURE_KEYS, *(f"clean_{k}" for k in FIGURE_KEYS)]
    per_query = {"idx": [0, 1, 2, 3], **{k: [1.0, 2.0, 3.0, 4.0] for k in keys}}
    per_query["ap"] = [0.5, None, 1.0, 0.0]  # no relevant item in its top k
    root = tmp_path / RANKING_DIR
    path = dump_ranking_result(
        parse_ranking_result(ranking_record("none", 0.5, per_query=per_query)), root
    )
    assert load_ranking_results(root)[0].per_query == per_query
    assert path.relative_to(root) == Path(*CELL_DIR.parts[:4], "topall", "linf-8_255",
                                          "none.json")  # fmt: skip
    short = {**per_query, "gtt": [1.0]}
    with pytest.raises(SchemaError, match="gtt: expected an array of 4"):
        parse_ranking_result(ranking_record("none", 0.5, per_query=short), "r.json")
