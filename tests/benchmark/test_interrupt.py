"""An interrupted runner stops its workers and keeps what finished."""

import subprocess
import sys
import time
from pathlib import Path

from robust_hashing.benchmark.executors import LocalExecutor


def test_local_executor_cancel_kills_a_worker_that_ignores_sigterm(tmp_path: Path) -> None:
    # Lightning traps SIGTERM and finishes its loop; cancel must still stop the worker.
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    handle = subprocess.Popen([sys.executable, "-c", script])
    time.sleep(0.5)
    start = time.perf_counter()
    LocalExecutor().cancel(handle)
    assert handle.poll() is not None
    assert time.perf_counter() - start < 10
