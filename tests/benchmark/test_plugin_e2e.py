"""The example plugin defense runs end to end through the real grid on tiny settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from robust_hashing.benchmark.catalog import RegistryCatalog
from robust_hashing.benchmark.executors import InlineExecutor
from robust_hashing.benchmark.grid import parse_grid
from robust_hashing.benchmark.runner import RunOptions, run_grid
from robust_hashing.leaderboard import load_results
from robust_hashing.plugins import load_plugins
from tests.devices import DEVICES

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = str(ROOT / "benchmark" / "examples" / "plugin_defense.py")
FLICKR = str(ROOT / "tests" / "data" / "flickr25k")


@pytest.mark.parametrize("device", DEVICES)
def test_example_plugin_appears_in_leaderboard(tmp_path: Path, device: str) -> None:
    load_plugins([PLUGIN], entry_point_groups=False)
    from robust_hashing.defenses import list_defenses

    assert "example_noise" in list_defenses()
    data_kwargs = {"root": FLICKR, "batch_size": 8, "eval_batch_size": 16, "resize": 32,
                   "crop": 32, "random_crop": False}  # fmt: skip
    grid = parse_grid(
        {
            "name": "plugin-e2e",
            "profile": "quick",
            "top_k": 10,
            "datasets": [{"name": "flickr25k", "kwargs": data_kwargs}],
            "bits": [16],
            "victim": {"method": "dpsh", "backbone": "test_cnn", "hp": {"lr": 0.01}},
            "trainer": {"accelerator": device, "clean_epochs": 1, "defense_epochs": 1},
            "defenses": ["none", "example_noise"],
            "attacks": [{"name": "hag", "hp": {"steps": 2}}],
        },
        "plugin-e2e.yaml",
    )
    opts = RunOptions(
        cache_dir=tmp_path / "cache",
        leaderboard_dir=tmp_path / "leaderboard",
        plugins=[PLUGIN],
        entry_points=False,
        poll_seconds=0.01,
    )
    out = io.StringIO()
    summary = run_grid(grid, opts, InlineExecutor(), RegistryCatalog(), stream=out)
    assert summary.exit_code == 0, (summary.failures, out.getvalue())
    frame = pd.read_csv(tmp_path / "leaderboard" / "leaderboard.csv")
    assert set(frame["defense"]) == {"none", "example_noise"}
    assert "hag" in frame.columns
    assert frame["clean_map"].between(0, 1).all() and frame["hag"].between(0, 1).all()
    results = load_results(tmp_path / "leaderboard" / "results")
    assert {r.defense for r in results} == {"none", "example_noise"}
    assert all(r.linf <= 8 / 255 + 1e-6 for r in results)
    assert all(r.figure_se is not None and r.figure_se >= 0 for r in results)  # over queries
    assert frame["min_attack_map_se"].notna().all()
    # protocol v2 end to end: per-query worst case (one attack: the attack's own mAP), the
    # threat model, transfer from none, the robustness curve of none's strongest attack
    assert (frame["worst_case_map"] - frame["min_attack_map"]).abs().max() < 1e-4
    assert all(r.threat["eps"] == pytest.approx(8 / 255) for r in results)
    assert all(r.per_query is not None and len(r.per_query["ap"]) == r.n_queries for r in results)
    noisy = frame.set_index("defense").loc["example_noise"]
    assert 0 <= noisy["transfer_hag"] <= 1 and noisy["curve_attack"] == "hag"
    curve = [noisy[f"curve_eps{n}"] for n in (2, 4, 8, 16)]
    assert all(0 <= v <= 1 for v in curve)
    assert curve[2] == pytest.approx(noisy["hag"], abs=1e-4)  # 8/255: the attack cell's figure
    assert list((tmp_path / "cache" / "attack").glob("*/adversarial.pt"))  # none's, kept
    # the defended model was really trained from the clean checkpoint
    ckpts = list((tmp_path / "cache" / "defense").glob("*/model.ckpt"))
    assert len(ckpts) == 1
    assert all(r.provenance.device.startswith(f"{device} (") for r in results)
    # every defended model has its clean evaluation (§7.3) and every attack cell its report
    for file in (tmp_path / "cache" / "defense").glob("*/clean_eval.json"):
        ev = json.loads(file.read_text())
        assert 0 <= ev["clean_map"] <= ev["clean_map_hits"] <= 1  # (a) counts no-hit queries 0
        assert 0 <= ev["clean_map_full"] <= 1
        assert ev["p_at_n"]["n"][:2] == [100, 110] and len(ev["p_at_n"]["precision"]) == 91
    reports = [json.loads(f.read_text()) for f in (tmp_path / "cache").glob("attack/*/report.json")]
    assert len(reports) == 2
    assert all(len(r["p_at_n"]["adv"]) == 91 and "adv_map_full" in r for r in reports)
