from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from robust_hashing.leaderboard import (
    check_leaderboard,
    dump_result,
    parse_result,
    results_frame,
    to_csv_text,
    write_leaderboard,
)
from robust_hashing.leaderboard.cli import main

from .conftest import make_record

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
        "dataset", "bits", "method", "backbone", "profile", "defense", "rank", "clean_map",
        "robust_map", "worst_attack", "hag", "mainstay", "dhta-targeted",
    ]  # fmt: skip
    assert list(frame["defense"]) == ["saat", "cgat", "none"]
    assert list(frame["rank"]) == [1, 2, 3]
    assert list(frame["robust_map"]) == [0.42, 0.40, 0.05]
    assert set(frame["worst_attack"]) == {"mainstay"}
    assert frame.loc[0, "dhta-targeted"] == 0.15


def test_render_is_deterministic_and_handles_missing_cells() -> None:
    items = records()
    expected = to_csv_text(results_frame(items))
    for seed in range(3):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        assert to_csv_text(results_frame(shuffled)) == expected
    partial = results_frame([r for r in items if not (r.defense == "none" and r.attack == "hag")])
    row = partial[partial["defense"] == "none"].iloc[0]
    assert math.isnan(row["hag"]) and row["robust_map"] == 0.05


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
    (tmp_path / "results" / "embedded" / "32bit" / "none" / "hag.json").write_text("{}")
    assert main(["validate", "--dir", str(tmp_path)]) == 1


COMMITTED = sorted(p.parent for p in (ROOT / "leaderboard").rglob("leaderboard.csv"))


@pytest.mark.skipif(not COMMITTED, reason="no committed leaderboard.csv yet")
@pytest.mark.parametrize("folder", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_leaderboard_matches_its_jsons(folder: Path) -> None:
    problem = check_leaderboard(folder)
    assert problem is None, problem
