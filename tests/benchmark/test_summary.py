"""The runner's summary figures (logged to wandb next to the leaderboard Table)."""

from __future__ import annotations

from pathlib import Path

from robust_hashing.benchmark.summary import robust_map_figure, robustness_curve_figure
from robust_hashing.leaderboard import parse_result, results_frame
from tests.leaderboard.conftest import make_record


def test_robust_map_figure_with_and_without_standard_errors(tmp_path: Path) -> None:
    cells = [  # cgat records its SE, none does not, broken has no untargeted cell at all
        make_record("cgat", "hag", figure=0.5, figure_se=0.04),
        make_record("none", "hag", figure=0.1),
        make_record("broken", "dhta", mode="targeted", figure=0.9),
    ]
    frame = results_frame([parse_result(c) for c in cells])
    assert frame["min_attack_map_se"].isna().sum() == 2
    path = robust_map_figure(frame, tmp_path / "robust.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_robustness_curve_figure_only_where_a_curve_exists(tmp_path: Path) -> None:
    plain = results_frame([parse_result(make_record("cgat", "hag"))])
    assert robustness_curve_figure(plain, tmp_path / "none.png") is None
    curve = {"attack": "hag", "eps": [2 / 255, 8 / 255], "adv_map": [0.6, 0.4]}
    cells = [make_record(d, "hag", curve=curve) for d in ("cgat", "none")]
    frame = results_frame([parse_result(c) for c in cells])
    path = robustness_curve_figure(frame, tmp_path / "curve.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
