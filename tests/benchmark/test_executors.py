"""The local executor's worker environment: GPU pinning and CPU thread split."""

import sys
from pathlib import Path

import pytest

from robust_hashing.benchmark import executors
from robust_hashing.benchmark.executors import LocalExecutor, cpu_threads

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
