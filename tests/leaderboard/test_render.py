from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from robust_hashing.leaderboard import (
    SchemaError,
    check_leaderboard,
    dump_result,
    parse_result,
    results_frame,
    to_console_text,
    to_csv_text,
    write_leaderboard,
)
from robust_hashing.leaderboard.cli import main

from .conftest import CELL_DIR, make_record

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {  # defense -> (hag, mainstay, dhta t-mAP)
    "none": (0.10, 0.05, 0.70),
    "cgat": (0.45, 0.40, 0.20),
    "saat": (0.50, 0.42, 0.15),
}


def records() -> list:
    out = []
    for defense, (hag, mainstay, dhta) in FIGURES.items():
        out.append(parse_result(make_record(defense, "hag", figure=hag)))
        out.append(parse_result(make_record(defense, "mainstay", figure=mainstay)))
        out.append(parse_result(make_record(defense, "dhta", "targeted", figure=dhta)))
    return out


def test_frame_columns_rank_and_worst_case() -> None:
    frame = results_frame(records())
    assert list(frame.columns) == [
        "dataset", "bits", "method", "backbone", "profile", "threat", "top_k", "n_queries",
        "defense", "rank", "clean_map", "worst_case_map", "worst_case_map_se",
        "min_attack_map", "min_attack_map_se", "worst_attack", "worst_case_tmap",
        "worst_case_tmap_se", "flags", "missing", "source", "notes", "hag", "mainstay",
        "dhta-targeted",
    ]  # fmt: skip
    assert list(frame["defense"]) == ["saat", "cgat", "none"]
    assert list(frame["rank"]) == [1, 2, 3]
    assert set(frame["threat"]) == {"linf 8/255"}
    assert list(frame["min_attack_map"]) == [0.42, 0.40, 0.05]
    assert frame["worst_case_map"].isna().all()  # no per-query data: ranked by the minimum
    assert set(frame["worst_attack"]) == {"mainstay"}
    assert frame.loc[0, "dhta-targeted"] == 0.15


def test_min_attack_map_se_is_that_of_the_worst_attack_cell() -> None:
    ses = {"hag": 0.03, "mainstay": 0.02, "dhta": 0.01}
    items = [
        parse_result(make_record(d, a, m, figure=f, figure_se=None if d == "none" else ses[a]))
        for d, (hag, mainstay, dhta) in FIGURES.items()
        for a, m, f in (("hag", "untargeted", hag), ("mainstay", "untargeted", mainstay),
                        ("dhta", "targeted", dhta))
    ]  # fmt: skip
    frame = results_frame(items).set_index("defense")
    assert frame.loc["saat", "worst_attack"] == "mainstay"
    assert frame.loc["saat", "min_attack_map_se"] == 0.02  # mainstay's, not hag's or dhta's
    assert math.isnan(frame.loc["none", "min_attack_map_se"])  # not recorded: blank in the CSV
    assert ",0.4200,0.0200,mainstay," in to_csv_text(frame.reset_index())


def test_render_is_deterministic_and_handles_missing_cells() -> None:
    items = records()
    expected = to_csv_text(results_frame(items))
    for seed in range(3):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        assert to_csv_text(results_frame(shuffled)) == expected
    partial = results_frame([r for r in items if not (r.defense == "none" and r.attack == "hag")])
    row = partial[partial["defense"] == "none"].iloc[0]
    assert math.isnan(row["hag"]) and row["min_attack_map"] == 0.05 and row["missing"] == "hag"


def test_a_row_missing_an_attack_is_ranked_after_the_complete_rows() -> None:
    # saat's strongest attack (mainstay) failed: its worst case over hag alone (0.50) would
    # rank it first; it goes after cgat and none, which faced both attacks.
    items = [r for r in records() if not (r.defense == "saat" and r.attack == "mainstay")]
    frame = results_frame(items)
    assert list(frame["defense"]) == ["cgat", "none", "saat"]
    assert list(frame["rank"]) == [1, 2, 3]
    assert list(frame["missing"]) == ["", "", "mainstay"]
    assert frame.loc[2, "min_attack_map"] == 0.50


def test_rows_measured_differently_are_ranked_apart() -> None:
    items = [parse_result(make_record("cgat", a, figure=0.4, top_k=1000, n_queries=40))
             for a in ("hag", "mainstay")]  # fmt: skip
    items += [parse_result(make_record("saat", a, figure=0.5, top_k=5000, n_queries=40))
              for a in ("hag", "mainstay")]  # fmt: skip
    frame = results_frame(items)
    assert list(frame["top_k"]) == [1000, 5000] and list(frame["rank"]) == [1, 1]
    assert list(frame["n_queries"]) == [40, 40] and set(frame["missing"]) == {""}
    text = to_csv_text(frame)
    row = "embedded,32,dpsh,small_cnn,quick,linf 8/255,1000,40,cgat,1,"
    assert text.splitlines()[1].startswith(row)
    unstated = results_frame([parse_result(make_record())])  # a paper that states neither
    assert unstated["top_k"].isna().all()
    line = to_csv_text(unstated).splitlines()[1]
    assert line.startswith("embedded,32,dpsh,small_cnn,quick,linf 8/255,,,")


def test_source_column_marks_reported_figures() -> None:
    reported = make_record("saat", "mainstay", figure=0.1)
    reported["provenance"] = {**reported["provenance"], "source": "reported"}
    items = [r for r in records() if not (r.defense == "saat" and r.attack == "mainstay")]
    frame = results_frame([*items, parse_result(reported)]).set_index("defense")
    assert frame.loc["saat", "source"] == "mixed" and frame.loc["cgat", "source"] == "measured"
    only = results_frame([parse_result(reported)])
    assert list(only["source"]) == ["reported"]


def test_notes_column_carries_the_cells_footnotes() -> None:
    items = [parse_result(make_record("cgat", "hag")),
             parse_result(make_record("cgat", "p2p", "targeted", footnote="unbounded")),
             parse_result(make_record("cgat", "dhta", "targeted", footnote="Table 3, eps 8")),
             parse_result(make_record("saat", "hag"))]  # fmt: skip
    frame = results_frame(items).set_index("defense")
    assert frame.loc["cgat", "notes"] == "dhta-targeted: Table 3, eps 8; p2p-targeted: unbounded"
    assert frame.loc["saat", "notes"] == ""
    assert "dhta-targeted: Table 3, eps 8; p2p-targeted: unbounded" in to_csv_text(frame)
    console = to_console_text(frame.reset_index()).splitlines()
    assert "notes" not in console[0] and "rank" in console[0]
    assert console[-1] == "note: dhta-targeted: Table 3, eps 8; p2p-targeted: unbounded"
    assert len(console) == 1 + 2 + 1  # header, two rows, the one distinct note


def test_cells_of_one_row_must_agree_on_the_clean_map() -> None:
    items = [parse_result(make_record("cgat", "hag")),
             parse_result(make_record("cgat", "sdha", clean_map=0.5))]  # fmt: skip
    with pytest.raises(SchemaError, match=r"embedded/32bit/cgat .*clean mAP 0\.8000 \(hag\) "
                                          r"differs from 0\.5000 \(sdha\)"):  # fmt: skip
        results_frame(items)
    close = [items[0], parse_result(make_record("cgat", "sdha", clean_map=0.801))]
    assert results_frame(close).loc[0, "clean_map"] == 0.8


def test_write_check_and_cli(tmp_path: Path) -> None:
    for result in records():
        dump_result(result, tmp_path / "results")
    frame = write_leaderboard(tmp_path)
    assert len(frame) == 3
    assert check_leaderboard(tmp_path) is None
    assert main(["render", "--dir", str(tmp_path), "--check"]) == 0
    assert main(["validate", "--dir", str(tmp_path)]) == 0
    csv = tmp_path / "leaderboard.csv"
    csv.write_text(csv.read_text().replace("0.4200", "0.9000"))
    assert "differs from the JSONs" in check_leaderboard(tmp_path)
    assert main(["render", "--dir", str(tmp_path), "--check"]) == 1
    assert main(["render", "--dir", str(tmp_path)]) == 0
    assert check_leaderboard(tmp_path) is None
    html = tmp_path / "leaderboard.html"
    html.write_text(html.read_text().replace("<h1>", "<h1>stale "))
    assert "leaderboard.html differs from the JSONs" in check_leaderboard(tmp_path)
    assert main(["render", "--dir", str(tmp_path)]) == 0 and check_leaderboard(tmp_path) is None
    (tmp_path / "results" / CELL_DIR / "none" / "hag.json").write_text("{}")
    assert main(["validate", "--dir", str(tmp_path)]) == 1


COMMITTED = sorted(  # the leaderboards and the replication records kept with the results
    p.parent
    for top in ("leaderboard", "docs/results")
    for p in (ROOT / top).rglob("leaderboard.csv")
)


@pytest.mark.skipif(not COMMITTED, reason="no committed leaderboard.csv yet")
@pytest.mark.parametrize("folder", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_leaderboard_matches_its_jsons(folder: Path) -> None:
    problem = check_leaderboard(folder)
    assert problem is None, problem
