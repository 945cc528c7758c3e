"""`robust-hashing leaderboard compare`: does a re-run reproduce a board?"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from robust_hashing.leaderboard import dump_result, load_results, parse_result
from robust_hashing.leaderboard.cli import main
from robust_hashing.leaderboard.compare import cell_name, compare_boards, comparison_text

from .conftest import make_record

ROOT = Path(__file__).resolve().parents[2]
# (defense, attack, mode, figure): cgat ranks above none under every untargeted attack.
BOARD = [
    ("none", "hag", "untargeted", 0.20), ("none", "mainstay", "untargeted", 0.25),
    ("none", "dhta", "targeted", 0.80), ("cgat", "hag", "untargeted", 0.50),
    ("cgat", "mainstay", "untargeted", 0.45), ("cgat", "dhta", "targeted", 0.60),
]  # fmt: skip


def board(changes: dict[tuple[str, str], dict[str, Any]] | None = None, drop=()) -> list:
    """The BOARD cells, with per-(defense, attack) field changes and cells left out."""
    changes = changes or {}
    out = []
    for defense, attack, mode, figure in BOARD:
        if (defense, attack) in drop:
            continue
        record = make_record(defense, attack, mode=mode, figure=figure)
        record.update(changes.get((defense, attack), {}))
        out.append(parse_result(record))
    return out


def moved(defense: str, attack: str, figure: float, **kw: Any) -> dict:
    """Changes that set one untargeted cell's figure (and optional other fields)."""
    return {(defense, attack): {"adv_map": figure, **kw}}


def test_identical_boards_reproduce() -> None:
    cmp = compare_boards(board(), board())
    assert len(cmp.diffs) == 6 and not cmp.only_a and not cmp.only_b
    assert all(d.delta == 0 and d.clean_delta == 0 for d in cmp.diffs)
    group = "embedded/32bit/dpsh/small_cnn/quick/linf-8_255/topall/?q"  # no top_k, no query count
    assert cmp.rankings == [(group, ["cgat", "none"], ["cgat", "none"])]
    assert cmp.diffs[0].name == f"{group}/cgat/dhta-targeted"  # sorted by name
    assert cmp.reproduced(tol=0.0, se=0.0)


def test_tolerance_is_the_larger_of_tol_and_se_multiples() -> None:
    # Δ 0.05 on none/hag: over tol 0.02 without a standard error ...
    cmp = compare_boards(board(), board(moved("none", "hag", 0.25)))
    [bad] = cmp.failures(tol=0.02, se=2.0)
    assert bad.name.endswith("/none/hag") and bad.delta == pytest.approx(0.05)
    assert not cmp.reproduced(0.02, 2.0) and cmp.reproduced(0.06, 2.0)
    # ... within 2 standard errors of 0.03 (the larger of the two cells' is used) ...
    ses = moved("none", "hag", 0.25, figure_se=0.03)
    cmp = compare_boards(board(moved("none", "hag", 0.20, figure_se=0.01)), board(ses))
    assert cmp.diffs[[d.name for d in cmp.diffs].index(bad.name)].se == 0.03
    assert cmp.reproduced(0.02, 2.0)
    # ... but not within 1.
    assert [d.name for d in cmp.failures(0.02, 1.0)] == [bad.name]


def test_clean_map_must_reproduce_too() -> None:
    retrained = {("cgat", a): {"clean_map": 0.7} for a in ("hag", "mainstay", "dhta")}
    cmp = compare_boards(board(), board(retrained))
    bad = cmp.failures(0.02, 2.0)
    assert [d.name.rsplit("/", 2)[-2] for d in bad] == ["cgat"] * 3
    assert all(d.delta == 0 and d.clean_delta == pytest.approx(-0.1) for d in bad)


def test_missing_cells_and_extra_cells() -> None:
    cmp = compare_boards(board(), board(drop=[("cgat", "dhta")]))
    assert [n.rsplit("/", 2)[-2:] for n in cmp.only_a] == [["cgat", "dhta-targeted"]]
    assert not cmp.reproduced(1.0, 0.0)  # a reference cell the re-run lacks never passes
    cmp = compare_boards(board(drop=[("cgat", "dhta")]), board())
    assert len(cmp.only_b) == 1 and cmp.reproduced(0.0, 0.0)  # extra re-run cells are fine


def test_a_changed_order_of_defenses_is_reported() -> None:
    # none overtakes cgat: its worst case (0.20 → 0.47) beats cgat's 0.45.
    rerun = board({**moved("none", "hag", 0.47), **moved("none", "mainstay", 0.48)})
    cmp = compare_boards(board(), rerun)
    [(group, before, after)] = cmp.reordered()
    assert (before, after) == (["cgat", "none"], ["none", "cgat"])
    assert cmp.reproduced(0.3, 0.0) is False  # within tolerance, but the ranking moved
    text = comparison_text(cmp, 0.3, 0.0)
    assert f"  {group}: cgat > none  →  none > cgat" in text.splitlines()
    assert text.splitlines()[-1] == "NOT REPRODUCED"


def test_report_summary_matches_an_independent_count() -> None:
    rerun = board({**moved("none", "hag", 0.26), **moved("cgat", "mainstay", 0.44)})
    cmp = compare_boards(board(), rerun)
    deltas = sorted(abs(a.figure - b.figure) for a, b in zip(
        sorted(board(), key=cell_name), sorted(rerun, key=cell_name), strict=True))  # fmt: skip
    lines = comparison_text(cmp, 0.02, 2.0).splitlines()
    assert lines[0] == "6 cells in both boards; 0 only in the reference, 0 only in the re-run"
    assert lines[1].startswith(
        f"|Δ figure|: median {statistics.median(deltas):.4f}, largest {deltas[-1]:.4f} ("
    )
    assert "/none/hag)" in lines[1]
    assert lines[2].startswith("5 of 6 cells reproduce")
    assert lines[3].startswith("  not reproduced: ") and "Δ +0.0600" in lines[3]


def write_board(folder: Path, cells: list) -> Path:
    for cell in cells:
        dump_result(cell, folder / "results")
    return folder


def test_cli_exit_status_and_folders(tmp_path: Path, capsys) -> None:
    ref = write_board(tmp_path / "ref", board())
    same = write_board(tmp_path / "same", board())
    off = write_board(tmp_path / "off", board(moved("none", "hag", 0.3)))
    assert main(["compare", str(ref), str(same / "results")]) == 0  # a results/ folder works too
    assert capsys.readouterr().out.splitlines()[-1] == "REPRODUCED"
    assert main(["compare", str(ref), str(off)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "NOT REPRODUCED"
    assert (
        main(["compare", str(ref), str(off), "--tol", "0.2", "--plot", str(tmp_path / "p.png")])
        == 0
    )
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {tmp_path / 'p.png'}"
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["compare", str(ref), str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err.strip().endswith("no results folder (run the benchmark first)")
    (tmp_path / "empty" / "results").mkdir(parents=True)
    assert main(["compare", str(tmp_path / "empty"), str(ref)]) == 1
    assert capsys.readouterr().err.strip().endswith("results: no result files to compare")
    with pytest.raises(SystemExit) as info:
        main(["compare", str(ref), str(same), "--tol", "-1"])
    assert info.value.code == 2
    assert "'-1' must be a finite number >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["paper-cpu-amd-epyc", "paper-cpu-h200"])
def test_committed_replications_keep_the_ranking(folder: str) -> None:
    """The paper-cpu grid on a second CPU and on a GPU (docs/results) ranks as committed."""
    cmp = compare_boards(
        load_results(ROOT / "docs" / "results" / "paper-cpu-v1" / "results"),
        load_results(ROOT / "docs" / "results" / folder / "results"),
    )
    assert len(cmp.diffs) == 15 and not cmp.only_a and not cmp.only_b
    assert cmp.rankings and not cmp.reordered()
    assert max(abs(d.delta) for d in cmp.diffs) < 0.1  # what docs/results reports (0.061, 0.034)


def test_committed_gpu_board_reproduces_the_cpu_board() -> None:
    """docs/results/README.md: on the H200 all 15 cells are within 2 SE of the CPU board."""
    assert (
        main(
            [
                "compare",
                str(ROOT / "docs" / "results" / "paper-cpu-v1"),
                str(ROOT / "docs" / "results" / "paper-cpu-h200"),
            ]
        )
        == 0
    )
