"""Values checked where they enter: ε and step sizes, hyper-parameter types, output folders,
grids that plan nothing, renders of no result. Each case: exit status, one line naming the
culprit, nothing written."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from robust_hashing.benchmark import runner
from robust_hashing.benchmark.cli import main as benchmark_main

BASE: dict[str, Any] = {
    "name": "t",
    "datasets": [{"name": "embedded", "kwargs": {"seed": 0}}],
    "bits": [32],
    "victim": {"method": "dpsh", "backbone": "small_cnn"},
    "defenses": ["none"],
    "attacks": ["hag"],
}


def one_line(err: str, prefix: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix) :]


@pytest.fixture
def nothing_runs(monkeypatch) -> None:
    def no_scheduler(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing may run")

    monkeypatch.setattr(runner, "Scheduler", no_scheduler)


def grid_file(tmp_path: Path, text: str | None = None, **change: Any) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text(text if text is not None else yaml.safe_dump({**BASE, **change}))
    return path


def bench(tmp_path: Path, grid: Path, *extra: str) -> int:
    board = str(tmp_path / "board")
    cache = str(tmp_path / "cache")
    return benchmark_main(["--grid", str(grid), "--cache-dir", cache, "--leaderboard-dir", board,
                           *extra])  # fmt: skip


def assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "cache").exists() and not (tmp_path / "board").exists()


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"attacks": [{"name": "hag", "hp": {"eps": -0.1}}]}, "attacks[0].hp.eps",
         "attack 'hag': the budget ε must be in (0, 1] (images are in [0, 1]), got -0.1"),
        ({"attacks": [{"name": "hag", "hp": {"eps": 2}}]}, "attacks[0].hp.eps", "got 2"),
        ({"attacks": [{"name": "hag", "hp": {"eps": 0}}]}, "attacks[0].hp.eps", "got 0"),
        ({"attacks": [{"name": "hag", "hp": {"eps": math.nan}}]}, "attacks[0].hp.eps", "got nan"),
        ({"attacks": [{"name": "hag", "hp": {"lr": -1.0}}]}, "attacks[0].hp.lr",
         "attack 'hag': a step size must be a positive finite number, got -1.0"),
        ({"attacks": [{"name": "mainstay", "hp": {"step": math.inf}}]}, "attacks[0].hp.step",
         "a step size must be a positive finite number, got inf"),
        ({"defenses": [{"name": "cgat", "hp": {"attack_eps": 1.5}}]}, "defenses[0].hp.attack_eps",
         "defense 'cgat': the budget ε must be in (0, 1]"),
        ({"defenses": [{"name": "cgat", "hp": {"attack_step": 0.0}}]},
         "defenses[0].hp.attack_step", "defense 'cgat': a step size must be a positive"),
        ({"attacks": [{"name": "hag", "hp": {"steps": "ten"}}]}, "attacks[0].hp.steps",
         "attack 'hag': expected int, got str 'ten'"),
        ({"defenses": [{"name": "saat", "hp": {"optimizer": "adagrad"}}]},
         "defenses[0].hp.optimizer", "expected Literal['sgd', 'adam'], got str 'adagrad'"),
    ],
)  # fmt: skip
def test_grid_hp_values_are_checked(tmp_path, capsys, nothing_runs, change, key, message) -> None:
    grid = grid_file(tmp_path, **change)
    assert bench(tmp_path, grid) == 2
    line = one_line(capsys.readouterr().err, "robust-hashing benchmark: error: ")
    assert line.startswith(f"{grid}: key '{key}': ") and message in line, line
    assert_nothing_written(tmp_path)


def test_a_yaml_string_where_a_float_is_declared_names_the_key(tmp_path, capsys, nothing_runs):
    # PyYAML (YAML 1.1) reads 1.0e30 as the string '1.0e30': HashingTask's lr is a float
    text = yaml.safe_dump(BASE).replace("victim:\n", "victim:\n  hp: {lr: 1.0e30}\n")
    assert yaml.safe_load(text)["victim"]["hp"] == {"lr": "1.0e30"}
    grid = grid_file(tmp_path, text)
    assert bench(tmp_path, grid) == 2
    line = one_line(capsys.readouterr().err, "robust-hashing benchmark: error: ")
    assert line == (
        f"{grid}: key 'victim.hp.lr': the victim's HashingTask: expected float, got str "
        "'1.0e30' (YAML reads 1.0e30 as text: write 1.0e+30)"
    )
    assert_nothing_written(tmp_path)


def test_a_grid_that_plans_no_cell_is_an_error(tmp_path, capsys, nothing_runs) -> None:
    grid = grid_file(tmp_path, bits=[48], victim={"method": "csq", "backbone": "small_cnn"})
    for extra in ((), ("--dry-run",)):
        assert bench(tmp_path, grid, *extra) == 2
        captured = capsys.readouterr()
        line = one_line(captured.err, "robust-hashing benchmark: error: ")
        assert line.startswith(f"{grid}: the grid plans no cell: clean/embedded-48bit-csq")
        assert "K=48" in line
    assert_nothing_written(tmp_path)


def _blocked(tmp_path: Path, how: str, monkeypatch) -> Path:
    """A folder path that cannot be written: under a plain file, or in a read-only folder."""
    if how == "under_file":
        (tmp_path / "plain").write_text("x")
        return tmp_path / "plain" / "sub"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root ignores the mode bits: answer as the kernel would for others
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode, **k: False if Path(p) == locked else real(p, mode, **k)
        )
    return locked / "sub"


@pytest.mark.parametrize("how", ["under_file", "read_only"])
@pytest.mark.parametrize("option", ["--cache-dir", "--leaderboard-dir"])
def test_unwritable_benchmark_folders_fail_before_any_cell(
    tmp_path, capsys, monkeypatch, nothing_runs, how, option
) -> None:
    blocked = _blocked(tmp_path, how, monkeypatch)
    grid = grid_file(tmp_path)
    args = ["--grid", str(grid), "--cache-dir", str(tmp_path / "cache"),
            "--leaderboard-dir", str(tmp_path / "board"), option, str(blocked)]  # fmt: skip
    try:
        assert benchmark_main(args) == 2
    finally:
        if how == "read_only":
            blocked.parent.chmod(0o755)
    line = one_line(capsys.readouterr().err, "robust-hashing benchmark: error: ")
    assert line.startswith(f"{option} {blocked}: ") and str(blocked.parent) in line, line
    assert_nothing_written(tmp_path)
    assert list(blocked.parent.iterdir()) == [] if how == "read_only" else True


# ----- robust-hashing attack ----------------------------------------------------------------


def attack(*extra: str) -> int:
    from robust_hashing.attacks.cli import main

    return main(["--checkpoint", "never_read.ckpt", "--attack", "hag", *extra])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-0.1", "the budget ε must be in (0, 1] (images are in [0, 1]), got -0.1"),
        ("2", "the budget ε must be in (0, 1] (images are in [0, 1]), got 2"),
        ("0", "the budget ε must be in (0, 1] (images are in [0, 1]), got 0"),
        (".nan", "expected float, got str '.nan'"),
        ("nan", "expected float, got str 'nan'"),
    ],
)
def test_attack_hp_eps_is_checked_before_loading(tmp_path, capsys, value, message) -> None:
    out = tmp_path / "report.json"
    assert attack("--hp", f"eps={value}", "--out", str(out)) == 2
    line = one_line(capsys.readouterr().err, "robust-hashing attack: error: argument --hp eps=")
    assert line.endswith(f": attack 'hag': {message}"), line
    assert list(tmp_path.iterdir()) == []


def test_attack_hp_step_size_is_checked(tmp_path, capsys) -> None:
    assert attack("--hp", "lr=-5", "--out", str(tmp_path / "r.json")) == 2
    line = one_line(capsys.readouterr().err, "robust-hashing attack: error: ")
    assert line == (
        "argument --hp lr=-5: attack 'hag': a step size must be a positive finite number, got -5"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["under_file", "read_only"])
@pytest.mark.parametrize("option", ["--out", "--cache-dir", "--targets"])
def test_attack_outputs_are_checked_before_any_compute(
    tmp_path, capsys, monkeypatch, how, option
) -> None:
    from robust_hashing.tasks import checkpoint

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the checkpoint may not be read")

    monkeypatch.setattr(checkpoint, "read_checkpoint", never)
    blocked = _blocked(tmp_path, how, monkeypatch)
    target = blocked / "x.json" if option != "--cache-dir" else blocked
    try:
        code = attack(option, str(target))
    finally:
        if how == "read_only":
            blocked.parent.chmod(0o755)
    assert code == 2
    line = one_line(capsys.readouterr().err, "robust-hashing attack: error: ")
    assert line.startswith(f"argument {option}: cannot write {target}: "), line
    assert str(blocked.parent) in line


# ----- robust-hashing leaderboard render ----------------------------------------------------


def test_rendering_an_empty_results_folder_is_an_error(tmp_path, capsys) -> None:
    from robust_hashing.leaderboard.cli import main

    (tmp_path / "results").mkdir()
    for extra in ((), ("--check",)):
        assert main(["render", "--dir", str(tmp_path), *extra]) == 1
        line = one_line(capsys.readouterr().err, "error: ")
        assert (
            line == f"{tmp_path / 'results'}: no result files to render (run the benchmark first)"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_a_full_disk_during_the_run_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    import errno

    from robust_hashing.benchmark import cli

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "board" / "x.json"))

    monkeypatch.setattr(cli, "run_grid", full)
    assert bench(tmp_path, grid_file(tmp_path)) == 1
    line = one_line(capsys.readouterr().err, "robust-hashing benchmark: error: ")
    assert line.startswith("[Errno 28] No space left on device: ")
    assert line.endswith("run the same command again to resume")
