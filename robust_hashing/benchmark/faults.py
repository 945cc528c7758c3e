"""What a worker checks around a cell's step: resource faults and results it must not cache.

* **Out of memory.** An attack cell that raises an out-of-memory error (CUDA's
  ``torch.cuda.OutOfMemoryError``, or a CPU ``RuntimeError`` such as ``DefaultCPUAllocator:
  can't allocate memory``) runs once more with half the attack batch (the data module's
  ``eval_batch_size``, the query batch the attack perturbs at once) before the cell fails.
* **Figures that are not numbers.** An attack cell whose figures are NaN or infinite fails
  (it is never marked done, so it is neither cached nor published).
* **Warnings** kept in ``done.json`` and printed by the runner: an attack that changed no
  bit of any query's code, a retry with a smaller batch.
"""

from __future__ import annotations

import gc
import inspect
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from robust_hashing.benchmark.cell_types import AttackInfo
from robust_hashing.errors import first_line

if TYPE_CHECKING:
    from robust_hashing.benchmark.cell_types import Cell
    from robust_hashing.benchmark.spec import CellSpec

OOM_MARKERS = ("out of memory", "defaultcpuallocator: can't allocate", "can't allocate memory")
# Figures of an attack cell the leaderboard needs, by mode; each must be a finite number.
ATTACK_FIGURES = ("clean_map", "asr", "linf", "l2", "rmse")
MODE_FIGURES = {"untargeted": ("adv_map",), "targeted": ("clean_tmap", "adv_tmap")}


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an out-of-memory error of CUDA or of the CPU allocator."""
    try:
        import torch

        if isinstance(err, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    if isinstance(err, MemoryError):
        return True
    return isinstance(err, RuntimeError) and any(m in str(err).lower() for m in OOM_MARKERS)


def attack_batch(spec: CellSpec) -> int | None:
    """The cell's attack batch: its data set's ``eval_batch_size`` (given or default)."""
    victim = spec.cell.victim
    if "eval_batch_size" in victim.dataset_kwargs:
        return int(victim.dataset_kwargs["eval_batch_size"])
    from robust_hashing.datamodules import DATAMODULES

    if victim.dataset not in DATAMODULES:
        return None
    param = inspect.signature(DATAMODULES.get(victim.dataset)).parameters.get("eval_batch_size")
    if param is None or not isinstance(param.default, int):
        return None
    return param.default


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def run_with_oom_retry(
    step: Callable[[CellSpec, list[Any]], dict[str, Any]],
    spec: CellSpec,
    loggers: list[Any],
    warnings: list[str],
) -> dict[str, Any]:
    """Run ``step``; an attack cell out of memory runs once more with half its batch.

    The retry runs on a copy of ``spec`` whose data module gets the half batch
    (``eval_batch_size``); a line is appended to ``warnings``.

    Raises:
        RuntimeError: out of memory again with half the batch (naming both batches).
    """
    try:
        return step(spec, loggers)
    except Exception as err:
        batch = attack_batch(spec) if spec.cell.kind == "attack" else None
        if not is_out_of_memory(err) or batch is None or batch < 2:
            raise
        half = batch // 2
        note = f"out of memory with attack batch {batch} ({first_line(err)}); retried with {half}"
        print(f"cell {spec.cell.id}: {note}", file=sys.stderr, flush=True)
    _free_memory()
    try:
        result = step(spec.with_dataset_kwargs(eval_batch_size=half), loggers)
    except Exception as again:
        if is_out_of_memory(again):
            raise RuntimeError(
                f"out of memory with attack batch {batch} and again with {half}: "
                f"{first_line(again)}"
            ) from again
        raise
    warnings.append(note)
    return result


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def result_problem(cell: Cell, result: dict[str, Any]) -> str | None:
    """Why a cell's result must not be cached (non-finite attack figures), or None."""
    if not isinstance(cell.task, AttackInfo):
        return None
    keys = (*ATTACK_FIGURES, *MODE_FIGURES.get(cell.task.mode, ()))
    bad = [f"{k}={result.get(k)!r}" for k in keys if not _finite(result.get(k, math.nan))]
    if not bad:
        return None
    return (
        f"attack {cell.task.name!r} gave non-finite figures ({', '.join(bad)}; "
        "null is a NaN): the cell is not cached"
    )


def no_flip_warning(name: Any, report: dict[str, Any]) -> str | None:
    """The warning for an attack report whose attack changed no bit of any query's code."""
    if report.get("bit_flip") != 0:
        return None
    n = report.get("n_queries")
    queries = f"{n:g}" if isinstance(n, int | float) else "all"
    return (
        f"attack {name!r} changed no bit of any query's code (bit_flip 0 over {queries} "
        "queries): check its hyper-parameters"
    )


def result_warnings(cell: Cell, result: dict[str, Any]) -> list[str]:
    """Warnings about a cell's (valid) result: an attack that changed no bit of any code."""
    if not isinstance(cell.task, AttackInfo):
        return []
    warning = no_flip_warning(cell.task.name, result)
    return [warning] if warning else []
