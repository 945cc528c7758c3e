"""The local executor's worker environment: GPU pinning and CPU thread split."""

import sys
from pathlib import Path

import pytest

from robust_hashing.benchmark import executors
from robust_hashing.benchmark.executors import LocalExecutor, SlurmExecutor, cpu_threads

SHOW_ENV = (
    "import os; print(os.environ.get('OMP_NUM_THREADS', '-'), "
    "os.environ.get('CUDA_VISIBLE_DEVICES', '-'))"
)


@pytest.mark.parametrize(
    ("workers", "cores", "expected"), [(1, 16, 16), (2, 16, 8), (3, 16, 5), (4, 2, 1), (0, 2, 2)]
)
def test_cpu_threads_split_the_cores(workers: int, cores: int, expected: int) -> None:
    assert cpu_threads(workers, cores) == expected


def _child_env(tmp_path: Path, monkeypatch, executor: LocalExecutor, gpus: list[int]) -> str:
    monkeypatch.setattr(executors, "worker_command", lambda _: [sys.executable, "-c", SHOW_ENV])
    log = tmp_path / "worker.log"
    handle = executor.launch(tmp_path / "cell.json", log, gpus, max(1, len(gpus)))
    handle.wait()
    return log.read_text().strip()


def test_parallel_cpu_workers_get_a_share_of_the_cores(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 8)
    assert _child_env(tmp_path, monkeypatch, LocalExecutor(cpu_workers=4), []) == "2 -"
    assert (
        _child_env(tmp_path, monkeypatch, LocalExecutor(), []) == "- -"
    )  # one worker: torch default
    assert _child_env(tmp_path, monkeypatch, LocalExecutor(cpu_workers=4), [1, 3]) == "- 1,3"


def test_a_user_thread_setting_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert _child_env(tmp_path, monkeypatch, LocalExecutor(cpu_workers=2), []) == "3 -"


def test_cells_sharing_gpus_split_the_cores(tmp_path: Path, monkeypatch) -> None:
    # --per-gpu 2 on 2 GPUs: four GPU workers at once, each with a quarter of the cores
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 16)
    assert _child_env(tmp_path, monkeypatch, LocalExecutor(gpu_workers=4), [1]) == "4 1"
    assert _child_env(tmp_path, monkeypatch, LocalExecutor(gpu_workers=4), []) == "- -"  # CPU cell


def test_slurm_executor_runs_a_grid_through_submitit(catalog, options, tmp_path: Path) -> None:
    """The SLURM path end to end, with submitit's local cluster standing in for SLURM."""
    import io
    from dataclasses import replace

    pytest.importorskip("submitit")
    from robust_hashing.benchmark.executors import InlineExecutor
    from robust_hashing.benchmark.runner import run_grid

    from .conftest import make_grid

    grid = make_grid(defenses=["good"], attacks=["weak", "boom"])
    # the clean model and the defense in-process (fast), then the two attacks as jobs
    run_grid(grid, replace(options, only="defense/*"), InlineExecutor(), catalog,
             stream=io.StringIO())  # fmt: skip
    folder = tmp_path / "slurm"
    executor = SlurmExecutor(folder, {"timeout_min": 5}, require_slurm=False, cluster="local")
    summary = run_grid(grid, options, executor, catalog, stream=io.StringIO())
    prefix = "attack/fake-16bit-dpsh-test_cnn/good/"
    assert summary.status[prefix + "weak"] == "done"
    assert summary.status[prefix + "boom"] == "failed"
    assert list(summary.failures) == [prefix + "boom"]
    assert summary.failures[prefix + "boom"].startswith("exit status 1: ")  # the worker's own
    assert (options.leaderboard_dir / "leaderboard.csv").is_file()
    assert len(list(folder.glob("*_result.pkl"))) == 1  # one job: the two attacks batched
