"""Run one benchmark cell: ``python -m robust_hashing.benchmark.worker <cell-spec.json>``.

The worker imports the plugins named in the spec (so third-party defenses and attacks are
registered in this process too), runs the cell's step with its loggers, and writes
``done.json`` last (:mod:`robust_hashing.benchmark.faults`: an attack cell out of memory is
retried with half its batch; non-finite attack figures fail the cell). Any exception
propagates as a non-zero exit status with the traceback on stderr, which the runner stores
in the cell's ``worker.log``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from robust_hashing.benchmark.cache import ArtefactCache, git_commit
from robust_hashing.benchmark.faults import result_problem, result_warnings, run_with_oom_retry
from robust_hashing.benchmark.spec import CellSpec
from robust_hashing.plugins import import_plugin, load_plugins


def cpu_kind() -> str:
    """Architecture, SIMD level of torch's CPU kernels and processor model.

    For example ``x86_64 AVX512, AMD EPYC``: the same code and seed give the same CPU figures
    only on the same kind (and thread count).
    """
    import torch

    kind = platform.machine()
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    if capability:
        kind += f" {capability}"
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            model = next((ln.split(":", 1)[1] for ln in info if ln.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    model = " ".join(model.replace(",", " ").split())
    return f"{kind}, {model}" if model else kind


def environment(accelerator: str = "auto") -> dict[str, str]:
    """Library versions and the device the cell ran on (provenance of its results).

    Args:
        accelerator: the cell's Lightning accelerator; a CPU cell on a GPU machine is
            recorded as ``cpu (<arch> <SIMD>, <model>, <n> cores, <t> threads)``, a GPU cell as
            ``cuda (<device name>)``.
    """
    import torch

    try:
        import lightning

        lightning_version = lightning.__version__
    except ImportError:  # pragma: no cover - lightning is a core dependency
        lightning_version = "unknown"

    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    else:
        # CPU results depend on the kernels (processor, SIMD level) and on the thread count
        # (float reductions), so all of them are recorded
        threads = torch.get_num_threads()
        device = (
            f"cpu ({cpu_kind()}, {os.cpu_count()} cores, "
            f"{threads} thread{'s' if threads != 1 else ''})"
        )
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning_version,
        "device": device,
        "code_commit": git_commit(),
    }


def run_spec(spec: CellSpec) -> dict[str, Any]:
    """Run the cell described by ``spec`` and mark it done; returns the ``done.json`` payload."""
    os.environ.setdefault("WANDB_MODE", "offline")
    cell, runtime = spec.cell, spec.runtime
    load_plugins(list(runtime.plugins), entry_point_groups=runtime.entry_points)
    if runtime.steps:
        module = import_plugin(runtime.steps)
    else:
        from robust_hashing.benchmark import steps as module

    folder = cell.dir
    folder.mkdir(parents=True, exist_ok=True)
    loggers: list[Any] = []
    if getattr(module, "USES_LOGGERS", True):
        from robust_hashing.benchmark.loggers import cell_loggers

        loggers = cell_loggers(spec)
    start = time.perf_counter()
    warnings: list[str] = []
    try:
        result = run_with_oom_retry(module.STEPS[cell.kind], spec, loggers, warnings)
    finally:
        if loggers:
            from robust_hashing.benchmark.loggers import finish

            finish(loggers)
    problem = result_problem(cell, result)
    if problem:
        raise FloatingPointError(problem)
    warnings += result_warnings(cell, result)
    for warning in warnings:
        print(f"cell {cell.id}: warning: {warning}", file=sys.stderr, flush=True)
    payload = {
        "id": cell.id,
        "key": cell.key,
        "kind": cell.kind,
        "config": cell.hashed_config(),
        "meta": cell.meta,
        "seed": runtime.seed,
        "seconds": round(time.perf_counter() - start, 3),
        "environment": environment(runtime.accelerator),
        "result": result,
    }
    if warnings:
        payload["warnings"] = warnings
    ArtefactCache.mark_done(folder, payload)
    return payload


def run_guarded(spec: CellSpec) -> bool:
    """Run one cell; on an exception write its traceback to ``error.log`` and return False."""
    error = spec.cell.dir / "error.log"
    error.unlink(missing_ok=True)
    try:
        run_spec(spec)
    except Exception:  # noqa: BLE001 - recorded for this cell; the others go on
        text = traceback.format_exc()
        error.parent.mkdir(parents=True, exist_ok=True)
        error.write_text(text)
        print(f"cell {spec.cell.id} failed:\n{text}", file=sys.stderr, flush=True)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the cell (or the ``{"cells": [...]}`` batch) whose spec JSON is ``argv[0]``.

    Returns:
        0 if every cell finished, 1 if one raised (the others still ran).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m robust_hashing.benchmark.worker <cell-spec.json>", file=sys.stderr)
        return 2
    data = json.loads(Path(args[0]).read_text())
    specs = [CellSpec.from_json(cell) for cell in data.get("cells", [data])]
    ok = [run_guarded(spec) for spec in specs]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
