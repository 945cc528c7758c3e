"""`robust-hashing benchmark`: bad input gives one error line and exit status 2, nothing runs."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from robust_hashing.benchmark import runner
from robust_hashing.benchmark.cli import build_parser, main, slurm_param

BASE: dict[str, Any] = {
    "name": "t",
    "datasets": [{"name": "embedded", "kwargs": {"seed": 0}}],
    "bits": [32],
    "victim": {"method": "dpsh", "backbone": "small_cnn"},
    "defenses": ["none"],
    "attacks": ["hag"],
}
PREFIX = "robust-hashing benchmark: error: "


def write_grid(tmp_path: Path, **change: Any) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump({**BASE, **change}))
    return path


def run(tmp_path: Path, grid: Path, *extra: str) -> int:
    return main(["--grid", str(grid), "--cache-dir", str(tmp_path / "cache"), *extra])


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX)
    return lines[0][len(PREFIX) :]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"defenses": ["none", "nodefense"]}, "key 'defenses[1].name': unknown defense 'nodefense'"),
        ({"attacks": ["hag", "noattack"]}, "key 'attacks[1].name': unknown attack 'noattack'"),
        ({"attacks": [{"name": "hag", "mode": "targeted"}]},
         "key 'attacks[0].mode': attack 'hag' does not support targeted (supported: untargeted)"),
        ({"datasets": [{"name": "nosuchdata"}]}, "key 'datasets[0].name': unknown dataset 'nosuchdata'"),
        ({"victim": {"method": "nosuchmethod"}},
         "key 'victim.method': unknown victim method (hashing loss) 'nosuchmethod'"),
        ({"defenses": [{"name": "cgat", "hp": {"nosuchhp": 3}}]},
         "key 'defenses[0].hp.nosuchhp': unknown hyper-parameter of defense 'cgat'"),
        ({"attacks": [{"name": "hag", "hp": {"stepz": 3}}]},
         "key 'attacks[0].hp.stepz': unknown hyper-parameter of attack 'hag'"),
        ({"trainer": {"devices": "zero"}}, "key 'trainer.devices': expected a positive integer"),
        ({"datasets": ["embedded", "embedded"]}, "key 'datasets[1].name': dataset 'embedded' is listed twice"),
    ],
)  # fmt: skip
def test_bad_grid_is_one_line_before_anything_runs(tmp_path, capsys, change, message) -> None:
    grid = write_grid(tmp_path, **change)
    assert run(tmp_path, grid, "--dry-run") == 2
    assert one_error_line(capsys).startswith(f"{grid}: {message}")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def broken(:\n", r"SyntaxError: .+ \(line 1\)"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("import nosuchdep_xyz\n", "ModuleNotFoundError: No module named 'nosuchdep_xyz'"),
    ],
)
def test_failing_plugin_is_one_line(tmp_path, capsys, source: str, message: str) -> None:
    plugin = tmp_path / "plug.py"
    plugin.write_text(source)
    assert run(tmp_path, write_grid(tmp_path), "--dry-run", "--plugin", str(plugin)) == 2
    line = one_error_line(capsys)
    assert re.fullmatch(f"plugin {re.escape(str(plugin))}: {message}", line), line


def test_a_missing_grid_plugin_names_the_key(tmp_path, capsys) -> None:
    grid = write_grid(tmp_path, plugins=["no_such_plugin.py"])
    assert run(tmp_path, grid, "--dry-run") == 2
    line = one_error_line(capsys)
    assert line.startswith(f"{grid}: key 'plugins': plugin no_such_plugin.py: file not found (")
    assert not (tmp_path / "cache").exists()


def test_only_matching_no_cell_is_an_error_and_writes_nothing(
    tmp_path, capsys, monkeypatch
) -> None:
    def no_scheduler(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing may run")

    monkeypatch.setattr(runner, "Scheduler", no_scheduler)
    grid = write_grid(tmp_path)
    board = tmp_path / "board"
    for extra in ([], ["--dry-run"]):
        assert run(tmp_path, grid, "--only", "zzz", "--leaderboard-dir", str(board), *extra) == 2
        assert one_error_line(capsys) == f"--only 'zzz' matches no cell of grid {grid}"
    assert not board.exists() and not (tmp_path / "cache").exists()


def test_only_is_a_substring_of_cell_ids(tmp_path, capsys) -> None:
    assert run(tmp_path, write_grid(tmp_path), "--dry-run", "--only", "none/hag") == 0
    out = capsys.readouterr().out
    assert "attack/embedded-32bit-dpsh-small_cnn/none/hag" in out and "3 cells" in out


def test_slurm_values_are_typed() -> None:
    assert slurm_param("timeout_min=60") == ("timeout_min", 60)
    assert slurm_param("mem_gb=7.5") == ("mem_gb", 7.5)
    assert slurm_param("stderr_to_stdout=true") == ("stderr_to_stdout", True)
    assert slurm_param("slurm_partition=gpu") == ("slurm_partition", "gpu")
    assert slurm_param("slurm_time=01:00:00") == ("slurm_time", "01:00:00")  # not sexagesimal
    assert slurm_param("slurm_additional_parameters={constraint: a100}") == (
        "slurm_additional_parameters", {"constraint": "a100"}
    )  # fmt: skip
    for bad in ("novalue", "=gpu", "gpus_per_node=2"):
        with pytest.raises(argparse.ArgumentTypeError):
            slurm_param(bad)


def test_slurm_without_value_is_a_parser_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--executor", "slurm", "--slurm", "novalue", "--dry-run"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --slurm: expected KEY=VALUE such as slurm_partition=gpu" in err
    assert "Traceback" not in err and "dictionary update" not in err


def test_slurm_needs_the_slurm_executor(tmp_path, capsys) -> None:
    assert run(tmp_path, write_grid(tmp_path), "--slurm", "timeout_min=60", "--dry-run") == 2
    assert one_error_line(capsys) == "--slurm needs --executor slurm"


def test_slurm_keys_are_checked_before_any_job(tmp_path, capsys) -> None:
    pytest.importorskip("submitit")
    grid = write_grid(tmp_path)
    slurm = ["--executor", "slurm", "--dry-run"]
    assert run(tmp_path, grid, *slurm, "--slurm", "partion=gpu") == 2  # typo
    line = one_error_line(capsys)
    assert line.startswith("--slurm: Parameter 'partion' need") and "slurm_partition" in line
    assert run(tmp_path, grid, *slurm, "--slurm", "partition=gpu") == 2  # deprecated name
    assert one_error_line(capsys) == (
        "--slurm: Setting 'partition' is deprecated. Use 'slurm_partition' instead."
    )
    assert run(tmp_path, grid, *slurm, "--slurm", "timeout_min=soon") == 2
    assert one_error_line(capsys).startswith('--slurm: Parameter "timeout_min" expected type')
    ok = ["--slurm", "slurm_partition=gpu", "--slurm", "timeout_min=60"]
    assert run(tmp_path, grid, *slurm, *ok) == 0


def test_slurm_executor_refuses_a_machine_without_slurm(tmp_path, capsys, monkeypatch) -> None:
    """submitit alone would fall back to running every cell locally."""
    submitit = pytest.importorskip("submitit")
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: -1))
    grid = write_grid(tmp_path)
    assert run(tmp_path, grid, "--executor", "slurm") == 2
    assert one_error_line(capsys).startswith(
        "--executor slurm: SLURM is not available here (no srun on PATH)"
    )
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("done.json"))
    assert run(tmp_path, grid, "--executor", "slurm", "--dry-run") == 0  # planning needs none


def test_help_shows_defaults_and_plain_text() -> None:
    text = " ".join(build_parser().format_help().split())
    assert "``" not in text
    assert "grid YAML file (default: benchmark/quick.yaml)" in text
    assert "(default: .cache/benchmark)" in text
    assert "substring or fnmatch pattern" in text
    assert "attack/embedded-32bit-dpsh-small_cnn/cgat/hag" in text
    assert "slurm_partition=gpu" in text and "timeout_min=60" in text


def test_a_leaderboard_that_cannot_be_rendered_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    from robust_hashing.benchmark import cli
    from robust_hashing.leaderboard import SchemaError

    def publish_fails(*args, **kwargs):
        raise SchemaError("leaderboard row embedded/32bit/cgat: clean mAP 0.8 (hag) differs")

    monkeypatch.setattr(cli, "run_grid", publish_fails)
    assert run(tmp_path, write_grid(tmp_path)) == 1
    line = capsys.readouterr().err.strip()
    assert "Traceback" not in line and len(line.splitlines()) == 1
    assert line == (
        "robust-hashing benchmark: the cells are cached, but the leaderboard could not be "
        "rendered: leaderboard row embedded/32bit/cgat: clean mAP 0.8 (hag) differs"
    )


def test_per_gpu_reaches_the_runner_and_must_be_positive(tmp_path, capsys, monkeypatch) -> None:
    seen: dict[str, Any] = {}

    def record(grid, opts, executor, catalog, stream=None):
        seen.update(per_gpu=opts.per_gpu, gpu_workers=executor.gpu_workers)
        return runner.RunSummary({}, {})

    monkeypatch.setattr("robust_hashing.benchmark.cli.run_grid", record)
    monkeypatch.setattr("robust_hashing.benchmark.cli.resolve_devices", lambda v, a: ([0, 1], 1))
    assert run(tmp_path, write_grid(tmp_path), "--per-gpu", "3") == 0
    assert seen == {"per_gpu": 3, "gpu_workers": 6}  # 2 GPUs × 3 cells share the cores
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--per-gpu", "0"])
    assert "argument --per-gpu: must be at least 1, got 0" in capsys.readouterr().err
