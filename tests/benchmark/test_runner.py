from __future__ import annotations

import io
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robust_hashing.benchmark.cache import DONE, ArtefactCache
from robust_hashing.benchmark.cell_types import DefenseInfo
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.executors import InlineExecutor, LocalExecutor
from robust_hashing.benchmark.runner import run_grid
from robust_hashing.leaderboard import load_results, result_path

from .conftest import make_grid


def calls(options) -> list[str]:
    path = options.cache_dir / "calls.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_inline_run_publishes_leaderboard(catalog, options) -> None:
    grid = make_grid()
    out = io.StringIO()
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=out)
    assert summary.exit_code == 0, summary.failures
    # 1 clean + 3 defenses + 3 × (weak, strong, strong-targeted, tgt-targeted) + 3 sweeps
    assert len(calls(options)) == 1 + 3 + 3 * 4 + 3
    results = load_results(options.leaderboard_dir / "results")
    assert len(results) == 12
    frame = pd.read_csv(options.leaderboard_dir / "leaderboard.csv")
    assert list(frame["defense"]) == ["better", "good", "none"]  # ranked by worst case
    assert list(frame["rank"]) == [1, 2, 3]
    assert frame.loc[0, "min_attack_map"] == pytest.approx(0.5)  # 0.7 - strong's 0.2
    assert frame.loc[0, "worst_attack"] == "strong"
    # per query (fake_steps.PATTERN) weak and strong are worst on different queries
    weak = np.array([0.7 - 0.2, 0.7 + 0.2, 0.7 - 0.2, 0.7 + 0.2])
    strong = np.array([0.5 + 0.1, 0.5 - 0.1, 0.5 + 0.1, 0.5 - 0.1])
    assert frame.loc[0, "worst_case_map"] == pytest.approx(np.minimum(weak, strong).mean())
    assert frame.loc[0, "worst_case_map"] < frame.loc[0, "min_attack_map"]
    # transfer from none (fake: white-box + 0.05) and the curve of none's strongest attack
    assert frame.loc[0, "transfer_strong"] == pytest.approx(0.55)
    assert math.isnan(frame.loc[2, "transfer_strong"])  # none is its own white-box figure
    assert set(frame["curve_attack"]) == {"strong"}
    assert frame.loc[0, "curve_eps2"] > frame.loc[0, "curve_eps16"]
    assert frame["flags"].isna().all()  # nothing suspicious: blank
    curve_cell = next(r for r in results if r.defense == "better" and r.column == "strong")
    assert curve_cell.curve is not None and curve_cell.curve["attack"] == "strong"
    assert curve_cell.threat == {"norm": "linf", "eps": pytest.approx(8 / 255)}
    assert (
        '<svg xmlns="http://www.w3.org/2000/svg" class="robustness-curve"'
        in (options.leaderboard_dir / "leaderboard.html").read_text()
    )
    assert "tgt-targeted" in frame.columns
    assert (options.leaderboard_dir / "leaderboard.html").is_file()
    assert "done" in out.getvalue() and "(done 19, running 0, failed 0)" in out.getvalue()
    # the quick profile merged the attack's `quick` dict into its hyper-parameters
    weak = next(r for r in results if r.attack == "weak")
    assert weak.provenance.source == "measured"
    assert weak.provenance.config_hash
    # what the figures measure comes from the attack report into the JSON and the CSV
    assert (weak.top_k, weak.n_queries) == (grid.top_k, grid.max_queries or 20)
    assert set(frame["n_queries"]) == {weak.n_queries} and frame["missing"].isna().all()


def test_defense_variants_under_aliases_run_side_by_side(catalog, options) -> None:
    variant = {"name": "cgat", "alias": "cgat_lam2", "hp": {"lam": 2}}
    grid = make_grid(defenses=["none", "cgat", variant], attacks=["weak", "strong"])
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert summary.exit_code == 0, summary.failures
    cells = {c.id: c for c in summary.cells}
    base, alias = (cells[f"defense/fake-16bit-dpsh-test_cnn/{d}"] for d in ("cgat", "cgat_lam2"))
    assert base.key != alias.key and base.dir != alias.dir
    assert base.part(DefenseInfo).name == alias.part(DefenseInfo).name == "cgat"  # one class
    results = load_results(options.leaderboard_dir / "results")
    paths = {r.defense: result_path(options.leaderboard_dir / "results", r)
             for r in results if r.attack == "weak"}  # fmt: skip
    assert set(paths) == {"none", "cgat", "cgat_lam2"} and len(set(paths.values())) == 3
    assert all(p.is_file() for p in paths.values())
    hp = {r.defense: r.defense_hp for r in results if r.attack == "weak"}
    assert hp["cgat_lam2"] == {"name": "cgat", "lam": 2, "max_epochs": None, "precision": "32-true"}
    assert hp["cgat"]["name"] == "cgat" and "lam" not in hp["cgat"]
    frame = pd.read_csv(options.leaderboard_dir / "leaderboard.csv").set_index("defense")
    assert {"cgat", "cgat_lam2"} <= set(frame.index)
    # fake figures: lam 2 adds 0.05 × 2 to every attack's mAP
    delta = frame.loc["cgat_lam2", "min_attack_map"] - frame.loc["cgat", "min_attack_map"]
    assert delta == pytest.approx(0.1)


def test_rerun_reuses_everything(catalog, options) -> None:
    grid = make_grid()
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    first = (options.leaderboard_dir / "leaderboard.csv").read_text()
    n_calls = len(calls(options))
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert len(calls(options)) == n_calls  # nothing recomputed
    assert set(summary.status.values()) == {"cached"}
    assert (options.leaderboard_dir / "leaderboard.csv").read_text() == first


def test_interrupted_cell_is_the_only_one_recomputed(catalog, options) -> None:
    grid = make_grid()
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    cells = plan(grid, ArtefactCache(options.cache_dir), catalog)
    victim = next(c for c in cells if c.id.endswith("/good/strong"))
    (victim.dir / DONE).unlink()  # as if killed before writing done.json
    before = len(calls(options))
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert calls(options)[before:] == [victim.id]


def test_failures_are_contained_and_reported(catalog, options) -> None:
    grid = make_grid(defenses=["none", "broken"], attacks=["weak", "boom"])
    out = io.StringIO()
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=out)
    assert summary.exit_code == 1
    assert summary.status["attack/fake-16bit-dpsh-test_cnn/none/weak"] == "done"
    assert summary.status["attack/fake-16bit-dpsh-test_cnn/none/boom"] == "failed"
    assert summary.status["defense/fake-16bit-dpsh-test_cnn/broken"] == "failed"
    assert summary.status["attack/fake-16bit-dpsh-test_cnn/broken/weak"] == "skipped"
    assert set(summary.failures) == {
        "attack/fake-16bit-dpsh-test_cnn/none/boom",
        "defense/fake-16bit-dpsh-test_cnn/broken",
        "attack/fake-16bit-dpsh-test_cnn/broken/weak",
        "attack/fake-16bit-dpsh-test_cnn/broken/boom",
        "sweep/fake-16bit-dpsh-test_cnn/none",  # its source attack `boom` failed
        "sweep/fake-16bit-dpsh-test_cnn/broken",
    }
    assert "6 cell(s) did not finish" in out.getvalue()
    failure = summary.failures["attack/fake-16bit-dpsh-test_cnn/none/boom"]
    assert re.match(r"exit status 1: \w+Error: .*attack bug.*; log: ", failure), failure
    log = Path(failure.split("log: ")[1])
    assert "attack bug" in log.read_text()
    assert [r.attack for r in load_results(options.leaderboard_dir / "results")] == ["weak"]


def test_dry_run_and_only(catalog, options) -> None:
    grid = make_grid()
    out = io.StringIO()
    options.dry_run, options.only = True, "good/weak"
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=out)
    assert sorted(summary.status) == [
        "attack/fake-16bit-dpsh-test_cnn/good/weak",
        "clean/fake-16bit-dpsh-test_cnn",
        "defense/fake-16bit-dpsh-test_cnn/good",
    ]
    assert "3 cells, 3 to run" in out.getvalue()
    assert calls(options) == []


def test_dry_run_lists_skipped_csq_cells(tmp_path: Path, capsys) -> None:
    """`robust-hashing benchmark --dry-run` on a CSQ grid with 48 bits: a skip line, no cell."""
    import yaml

    from robust_hashing.benchmark.cli import main

    grid = {
        "name": "csq", "datasets": [{"name": "embedded", "kwargs": {"seed": 0}}],
        "bits": [32, 48], "victim": {"method": "csq", "backbone": "small_cnn"},
        "defenses": ["none"], "attacks": ["hag"],
    }  # fmt: skip
    path = tmp_path / "csq.yaml"
    path.write_text(yaml.safe_dump(grid))
    code = main(["--grid", str(path), "--dry-run", "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert code == 0
    skipped = [line for line in out.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 1
    assert skipped[0].startswith("skipped clean/embedded-48bit-csq-small_cnn and the cells")
    assert "K=48" in skipped[0]
    assert "48bit" not in out.replace(skipped[0], "")
    assert "4 cells, 4 to run" in out  # 32 bits: clean, none, hag, the sweep of none


def test_training_cells_only_run_without_a_leaderboard(catalog, options) -> None:
    out = io.StringIO()
    options.only = "clean/*"
    summary = run_grid(make_grid(), options, InlineExecutor(), catalog, stream=out)
    assert summary.exit_code == 0 and summary.frame is None
    assert calls(options) == ["clean/fake-16bit-dpsh-test_cnn"]
    assert "leaderboard: not written (no attack cell finished)" in out.getvalue()
    assert not options.leaderboard_dir.exists()


def test_changed_config_invalidates_downstream_only(catalog, options) -> None:
    run_grid(make_grid(), options, InlineExecutor(), catalog, stream=io.StringIO())
    before = len(calls(options))
    grid = make_grid(
        attacks=["weak", "strong", {"name": "tgt", "mode": "targeted", "hp": {"x": 1}}]
    )
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    new = calls(options)[before:]
    assert len(new) == 3 and all(c.endswith("/tgt-targeted") for c in new)
    shutil.rmtree(options.cache_dir / "attack")
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert not any(c.startswith(("clean", "defense")) for c in calls(options)[before + 3 :])


def test_subprocess_batch_crash_is_isolated(catalog, options) -> None:
    # clean model and defense first, in-process (fast); then attacks in real subprocesses
    run_grid(make_grid(defenses=["good"], attacks=["weak"]), options, InlineExecutor(), catalog,
             stream=io.StringIO())  # fmt: skip
    attacks = ["weak", "oom", {"name": "strong", "mode": "untargeted"}]
    grid = make_grid(defenses=["good"], attacks=attacks)
    out = io.StringIO()
    summary = run_grid(grid, options, LocalExecutor(), catalog, stream=out)
    prefix = "attack/fake-16bit-dpsh-test_cnn/good/"
    assert summary.status[prefix + "weak"] == "cached"
    assert summary.status[prefix + "strong"] == "done"  # re-run alone after the batch died
    assert summary.status[prefix + "oom"] == "failed"
    assert list(summary.failures) == [prefix + "oom"]
    assert "exit status 137" in summary.failures[prefix + "oom"]
    starts = [
        ln for ln in out.getvalue().splitlines() if "start" in ln and f"{prefix}strong " in ln
    ]
    assert len(starts) == 2
    spec = json.loads((options.cache_dir / "attack").glob("*/cell.json").__next__().read_text())
    assert spec["runtime"]["plugins"] == [] and spec["upstream"]["defense"]


class DeferredExecutor:
    """Runs a worker inline on its first poll, so that launches can overlap; records them."""

    def __init__(self) -> None:
        self.inline = InlineExecutor()
        self.running: list[dict] = []
        self.launches: list[dict] = []  # gpus of each launch and the GPUs busy at that moment

    def launch(self, spec_path: Path, log_path: Path, gpus: list[int], devices: int) -> dict:
        busy = [g for h in self.running for g in h["gpus"]]
        handle = {"path": spec_path, "log": log_path, "gpus": gpus, "code": None}
        self.running.append(handle)
        self.launches.append(
            {"gpus": gpus, "busy": busy, "spec": json.loads(spec_path.read_text())}
        )
        return handle

    def poll(self, handle: dict) -> int | None:
        if handle["code"] is None:
            handle["code"] = self.inline.launch(handle["path"], handle["log"], handle["gpus"], 1)
            self.running.remove(handle)
        return handle["code"]

    def cancel(self, handle: dict) -> None:
        pass


@pytest.mark.parametrize(("per_gpu", "parallel"), [(1, 2), (2, 3)])
def test_per_gpu_runs_that_many_cells_on_each_gpu(catalog, options, per_gpu, parallel) -> None:
    # two (pretend) GPUs; the three defenses become ready together after the clean model
    options.gpus, options.per_gpu = [0, 1], per_gpu
    executor = DeferredExecutor()
    summary = run_grid(make_grid(), options, executor, catalog, stream=io.StringIO())
    assert summary.exit_code == 0, summary.failures
    defenses = [r for r in executor.launches if r["spec"].get("kind") == "defense"]
    assert len(defenses) == 3
    # all that fit start at once: 2 slots (one per GPU) or all 3 defenses (4 slots)
    assert max(len(r["busy"]) for r in defenses) + 1 == parallel
    for record in executor.launches:
        assert len(record["gpus"]) == 1  # one GPU per cell (grid trainer.devices = 1)
        on_gpu = [*record["busy"], *record["gpus"]].count(record["gpus"][0])
        assert on_gpu <= per_gpu  # never more cells on one GPU than --per-gpu
    # the first cells go to different GPUs before any GPU takes a second one
    assert {r["gpus"][0] for r in defenses[:2]} == {0, 1}
