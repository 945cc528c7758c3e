"""`robust-hashing leaderboard`: folders of leaderboards, titles, unreadable files, help."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from robust_hashing.leaderboard import check_leaderboard, dump_result, parse_result
from robust_hashing.leaderboard.cli import build_parser, main

from .conftest import CELL_DIR, make_record

ROOT = Path(__file__).resolve().parents[2]


def make_board(folder: Path, title: str | None = None) -> Path:
    for defense, figure in (("none", 0.1), ("cgat", 0.4)):
        dump_result(parse_result(make_record(defense, "hag", figure=figure)), folder / "results")
    assert main(["render", "--dir", str(folder), *(["--title", title] if title else [])]) == 0
    return folder


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()


def test_non_utf8_result_is_one_line(tmp_path: Path, capsys) -> None:
    board = make_board(tmp_path / "quick")
    bad = board / "results" / CELL_DIR / "none" / "hag.json"
    bad.write_bytes(b'{"dataset": "\xff\xfe"}')
    capsys.readouterr()
    for argv in (["validate"], ["render", "--check"], ["render"]):
        assert main([*argv, "--dir", str(board)]) == 1
        [line] = error_lines(capsys)
        assert line == f"error: {bad}: not UTF-8 text (byte 0xff at offset 13)"


def test_folder_named_json_is_not_a_result(tmp_path: Path, capsys) -> None:
    board = make_board(tmp_path / "quick")
    (board / "results" / "embedded" / "odd.json").mkdir()
    assert main(["validate", "--dir", str(board)]) == 0
    assert "2 result files valid" in capsys.readouterr().out
    assert main(["render", "--dir", str(board), "--check"]) == 0


def test_check_uses_the_title_the_page_carries(tmp_path: Path, capsys) -> None:
    titled = make_board(tmp_path / "titled", title="My <lab> board")
    assert check_leaderboard(titled) is None
    moved = tmp_path / "renamed"
    shutil.copytree(titled, moved)  # an unmodified copy under another folder name
    assert check_leaderboard(moved) is None
    assert main(["render", "--dir", str(moved), "--check"]) == 0
    html = moved / "leaderboard.html"
    html.write_text(html.read_text().replace("<h3>Table", "<h3>Stale table"))
    assert main(["render", "--dir", str(moved), "--check"]) == 1
    [line] = error_lines(capsys)
    assert line == (
        f"{html} differs from the JSONs; run "
        f"`robust-hashing leaderboard render --dir {moved} --title 'My <lab> board'`"
    )
    csv = moved / "leaderboard.csv"
    csv.write_text(csv.read_text().replace("0.4000", "0.5000"))
    assert main(["render", "--dir", str(moved), "--check"]) == 1
    assert f"`robust-hashing leaderboard render --dir {moved}`" in error_lines(capsys)[0]


def test_folder_of_profile_folders(tmp_path: Path, capsys) -> None:
    top = tmp_path / "leaderboard"
    make_board(top / "quick")
    make_board(top / "paper-cpu")
    (top / "notes").mkdir()  # no results/: not a leaderboard
    capsys.readouterr()
    assert main(["validate", "--dir", str(top)]) == 0
    out = capsys.readouterr().out
    assert f"{top} has no results/ of its own; its leaderboard folders: paper-cpu, quick" in out
    assert out.count("2 result files valid") == 2
    assert main(["render", "--dir", str(top), "--check"]) == 0
    assert main(["render", "--dir", str(top)]) == 0
    assert "quick/leaderboard.csv" in capsys.readouterr().out
    assert main(["render", "--dir", str(top), "--title", "x"]) == 2
    [line] = error_lines(capsys)
    assert line.startswith("error: --title applies to one leaderboard")
    # one stale profile fails the check, and says which
    (top / "quick" / "leaderboard.csv").write_text("stale\n")
    assert main(["render", "--dir", str(top), "--check"]) == 1
    assert error_lines(capsys)[0].startswith(f"{top / 'quick' / 'leaderboard.csv'} differs")
    # a top-level board of its own is processed with its profile folders
    make_board(top)
    capsys.readouterr()
    assert main(["validate", "--dir", str(top)]) == 0
    out = capsys.readouterr().out
    assert f"{top}: its own leaderboard, then those of its sub-folders: paper-cpu, quick" in out
    assert out.count("result files valid") == 3


def test_folder_without_any_results(tmp_path: Path, capsys) -> None:
    (tmp_path / "sub").mkdir()
    for argv in (["validate"], ["render", "--check"], ["render"]):
        assert main([*argv, "--dir", str(tmp_path)]) == 1
        [line] = error_lines(capsys)
        assert line == (
            f"error: {tmp_path}: no results folder, and no sub-folder with one "
            "(run the benchmark first)"
        )
    assert not (tmp_path / "leaderboard.csv").exists()


def test_default_dir_is_the_committed_leaderboards(capsys, monkeypatch) -> None:
    """What `make leaderboard`, the leaderboard README's CI line and the PR template run."""
    monkeypatch.chdir(ROOT)
    if not any((ROOT / "leaderboard").glob("*/results")):
        pytest.skip("no committed leaderboard")
    assert main(["validate"]) == 0
    assert main(["render", "--check"]) == 0, capsys.readouterr().err


def test_render_keeps_the_markdown_table_current(tmp_path: Path, capsys) -> None:
    """`render` writes the README block of the board it renders; `--check` fails when stale."""
    board = make_board(tmp_path / "quick")
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- leaderboard: quick -->\nstale\n<!-- /leaderboard -->\n")
    argv = ["render", "--dir", str(board), "--markdown", str(readme)]
    assert main([*argv, "--check"]) == 1
    assert (
        error_lines(capsys)[-1] == f"{readme}: the table of quick is stale (run leaderboard render)"
    )
    assert main(argv) == 0
    assert "| rank | defense |" in readme.read_text() and "stale" not in readme.read_text()
    assert main([*argv, "--check"]) == 0
    readme.write_text(readme.read_text().replace("| 1 |", "| 9 |"))  # a hand edit
    assert main([*argv, "--check"]) == 1
    assert main(["render", "--dir", str(board), "--markdown", str(tmp_path / "no.md")]) == 1
    assert "no.md: no such markdown file" in error_lines(capsys)[-1]


def test_help_keeps_the_layout_and_shows_defaults(capsys) -> None:
    text = build_parser().format_help()
    assert "\n  render [--dir DIR] [--check]" in text and "\n  validate [--dir DIR]" in text
    assert "``" not in text
    for name in ("render", "validate"):
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "(default: leaderboard)" in " ".join(capsys.readouterr().out.split())
