"""The generated leaderboard table of a markdown file (robust_hashing.leaderboard.readme)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robust_hashing.leaderboard.readme import markdown_table, sync_markdown

CSV = """\
dataset,bits,method,backbone,profile,top_k,n_queries,defense,rank,clean_map,worst_case_map,worst_case_map_se,min_attack_map,flags
embedded,32,dpsh,small_cnn,quick,1000,80,cgat,1,0.8,0.41234,0.03,0.45,
embedded,32,dpsh,small_cnn,quick,1000,80,none,2,0.81,0.2,0.02,0.25,low-clean
"""


def _board(tmp_path: Path) -> Path:
    board = tmp_path / "leaderboard" / "quick"
    board.mkdir(parents=True)
    (board / "leaderboard.csv").write_text(CSV)
    readme = tmp_path / "README.md"
    readme.write_text(
        "# title\n\n<!-- leaderboard: leaderboard/quick -->\nold\n<!-- /leaderboard -->\n\ntail\n"
    )
    return readme


def test_sync_writes_the_table_from_the_csv(tmp_path: Path) -> None:
    readme = _board(tmp_path)
    assert sync_markdown(readme, check=True) is not None  # "old" is stale
    assert "rewrote the table of leaderboard/quick" in (sync_markdown(readme) or "")
    text = readme.read_text()
    assert "| 1 | cgat | 0.800 | 0.412 ± 0.030 | 0.450 |" in text
    assert "| 2 | none | 0.810 | 0.200 ± 0.020 | 0.250 | low-clean |" in text
    assert text.startswith("# title\n") and text.endswith("\ntail\n")
    assert sync_markdown(readme, check=True) is None


def test_check_fails_on_a_hand_edited_table(tmp_path: Path) -> None:
    readme = _board(tmp_path)
    sync_markdown(readme)
    readme.write_text(readme.read_text().replace("0.412", "0.512"))
    message = sync_markdown(readme, check=True)
    assert message is not None and "leaderboard/quick" in message and str(readme) in message
    assert "0.512" in readme.read_text()  # check writes nothing


def test_a_block_naming_a_missing_board_is_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- leaderboard: nowhere -->\n<!-- /leaderboard -->\n")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        sync_markdown(readme)


def test_table_groups_rows_and_skips_absent_columns() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "dataset": ["a", "b"],
            "defense": ["none", "none"],
            "rank": [1, 1],
            "clean_map": [0.5, 0.6],
        }
    )
    text = markdown_table(frame)
    assert text.count("| rank | defense | clean mAP |") == 2
    assert "*dataset a*" in text and "*dataset b*" in text


def test_only_the_named_boards_are_synced(tmp_path: Path) -> None:
    readme = _board(tmp_path)
    other = tmp_path / "elsewhere"
    assert sync_markdown(readme, check=True, boards=[other]) is None  # not this block
    assert sync_markdown(readme, boards=[other]) is None
    assert "\nold\n" in readme.read_text()
    board = tmp_path / "leaderboard" / "quick"
    assert sync_markdown(readme, check=True, boards=[board]) is not None
    sync_markdown(readme, boards=[board])
    assert "\nold\n" not in readme.read_text()


def test_transfer_column_is_the_lowest_transfer_figure() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "defense": ["cgat", "none"],
            "rank": [1, 2],
            "transfer_hag": [0.61, 0.30],
            "transfer_mainstay": [0.52, float("nan")],
        }
    )
    text = markdown_table(frame)
    assert "| rank | defense | transfer (worst) |" in text
    assert "| 1 | cgat | 0.520 |" in text and "| 2 | none | 0.300 |" in text
