"""Where a cell's worker runs: a local subprocess, SLURM through submitit, or in-process.

Every executor has ``launch(cell_spec_path, log_path, gpus, devices) -> handle`` and
``poll(handle) -> exit status or None while running``. The runner owns the scheduling.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Protocol

from robust_hashing.errors import first_line

# submitit's per-job settings that the runner sets itself for every cell (one task, its GPUs).
RUNNER_SLURM_KEYS = ("gpus_per_node", "tasks_per_node")


class Executor(Protocol):
    """Launches worker processes and reports their exit status."""

    def launch(self, spec_path: Path, log_path: Path, gpus: list[int], devices: int) -> Any:
        """Start the worker for ``spec_path``; ``gpus`` are the GPU ids it may use."""
        ...

    def poll(self, handle: Any) -> int | None:
        """Exit status of a finished worker, None while it runs."""
        ...

    def cancel(self, handle: Any) -> None:
        """Stop a running worker (the runner was interrupted)."""
        ...


def worker_command(spec_path: Path) -> list[str]:
    """The command line of one worker process."""
    return [sys.executable, "-m", "robust_hashing.benchmark.worker", str(spec_path)]


def cpu_threads(workers: int, cores: int | None = None) -> int:
    """Threads per CPU worker so that ``workers`` parallel workers share the cores.

    Oversubscribing (every worker with one thread per core) makes OpenMP threads wait on
    each other's time slices.
    """
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


class LocalExecutor:
    """One ``python -m robust_hashing.benchmark.worker`` subprocess per cell.

    GPU ids are passed through ``CUDA_VISIBLE_DEVICES``; on CPU the variable is left alone.
    With several workers running at once, each gets ``OMP_NUM_THREADS`` = cores / workers
    (unless the variable is already set). stdout and stderr go to the cell's ``worker.log``.

    Args:
        cpu_workers: how many CPU workers run at once (``--devices N`` on a CPU).
        gpu_workers: how many GPU workers run at once (GPUs × ``--per-gpu``).
    """

    def __init__(self, cpu_workers: int = 1, gpu_workers: int = 1) -> None:
        self.cpu_workers = cpu_workers
        self.gpu_workers = gpu_workers

    def launch(self, spec_path: Path, log_path: Path, gpus: list[int], devices: int) -> Any:
        """Start the subprocess."""
        env = dict(os.environ)
        env.setdefault("WANDB_MODE", "offline")
        env.setdefault("PYTHONUNBUFFERED", "1")
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
        workers = self.gpu_workers if gpus else self.cpu_workers
        if workers > 1:
            env.setdefault("OMP_NUM_THREADS", str(cpu_threads(workers)))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w") as log:
            return subprocess.Popen(
                worker_command(spec_path), stdout=log, stderr=subprocess.STDOUT, env=env
            )

    def poll(self, handle: Any) -> int | None:
        """``Popen.poll``."""
        code: int | None = handle.poll()
        return code

    def cancel(self, handle: Any) -> None:
        """Kill the subprocess (SIGKILL: Lightning traps SIGTERM and would finish its loop)."""
        if handle.poll() is None:
            handle.kill()
            handle.wait()


class InlineExecutor:
    """Runs the worker in this process, synchronously (for tests and debugging).

    Exceptions are still contained per cell by the worker; a hard crash is not.
    """

    def launch(self, spec_path: Path, log_path: Path, gpus: list[int], devices: int) -> Any:
        """Run the cell(s) now; the handle is the exit status."""
        from robust_hashing.benchmark.worker import main

        return main([str(spec_path)])

    def poll(self, handle: Any) -> int | None:
        """The stored exit status."""
        return int(handle)

    def cancel(self, handle: Any) -> None:
        """Nothing runs in the background."""


def _run_worker_file(spec_path: str) -> int:
    from robust_hashing.benchmark.worker import main

    return main([spec_path])


class SlurmExecutor:
    """Submits each cell as a SLURM job through submitit (``pip install robust_hashing[slurm]``).

    Args:
        folder: where submitit keeps job scripts and logs.
        parameters: passed to ``AutoExecutor.update_parameters``: generic keys
            (``timeout_min``, ``mem_gb``, ``cpus_per_task``, ``nodes``, ``name``) and
            cluster-prefixed ones (``slurm_partition``, ``slurm_account``, ...);
            ``gpus_per_node`` and ``tasks_per_node`` are set per cell.
        require_slurm: refuse to start where SLURM is missing (no ``srun`` on PATH); off for
            a dry run, which only checks the parameters.
        cluster: submitit cluster the jobs go to: ``"slurm"``; ``"local"`` runs each job
            as a local process through submitit, the same job API without a cluster (tests).

    Raises:
        ValueError: if SLURM is missing (with ``require_slurm``), or if submitit rejects or
            deprecates a parameter (checked here, before any job is submitted).
    """

    def __init__(
        self,
        folder: Path,
        parameters: dict[str, Any] | None = None,
        require_slurm: bool = True,
        cluster: str = "slurm",
    ) -> None:
        try:
            import submitit
        except ImportError:
            raise ImportError(
                "the slurm executor needs submitit: pip install robust_hashing[slurm]"
            ) from None
        if require_slurm and submitit.SlurmExecutor.affinity() < 0:
            # submitit's AutoExecutor would quietly run every cell on this machine instead
            raise ValueError(
                "--executor slurm: SLURM is not available here (no srun on PATH); run on the "
                "cluster's login node, or drop --executor slurm to run the cells locally"
            )
        self._submitit = submitit
        self.cluster = cluster
        self.folder = Path(folder)
        self.parameters = {"timeout_min": 240, **(parameters or {})}
        taken = sorted(set(RUNNER_SLURM_KEYS) & set(self.parameters))
        if taken:
            raise ValueError(f"--slurm {taken[0]}: set by the runner for every cell")
        hint = " (SLURM-only keys take the slurm_ prefix, e.g. slurm_partition=gpu)"
        try:  # the debug cluster exists everywhere; its check covers every cluster's keys
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                submitit.AutoExecutor(folder=self.folder, cluster="debug").update_parameters(
                    **self.parameters
                )
        except (AssertionError, NameError, TypeError, ValueError) as err:
            extra = hint if isinstance(err, NameError) else ""
            raise ValueError(f"--slurm: {first_line(err)}{extra}") from None
        for warning in caught:  # "Setting 'partition' is deprecated. Use 'slurm_partition' ..."
            if "deprecated" in str(warning.message):
                raise ValueError(f"--slurm: {warning.message}")

    def launch(self, spec_path: Path, log_path: Path, gpus: list[int], devices: int) -> Any:
        """Submit one job asking for ``devices`` GPUs."""
        executor = self._submitit.AutoExecutor(folder=self.folder, cluster=self.cluster)
        executor.update_parameters(gpus_per_node=devices, tasks_per_node=1, **self.parameters)
        return executor.submit(_run_worker_file, str(spec_path))

    def poll(self, handle: Any) -> int | None:
        """The worker's exit status (1 if the job raised or was cancelled); None while running."""
        if not handle.done():
            return None
        if handle.exception() is not None:
            return 1
        code = handle.result()
        return code if isinstance(code, int) else 0

    def cancel(self, handle: Any) -> None:
        """``scancel`` the job."""
        handle.cancel(check=False)
