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
from typing import Any

from robust_hashing.errors import first_line

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


def attack_batch(spec: dict[str, Any]) -> int | None:
    """The cell's attack batch: its data set's ``eval_batch_size`` (given or default)."""
    data = spec["runtime"]["dataset"]
    if "eval_batch_size" in data.get("kwargs", {}):
        return int(data["kwargs"]["eval_batch_size"])
    from robust_hashing.datamodules import DATAMODULES

    if data["name"] not in DATAMODULES:
        return None
    param = inspect.signature(DATAMODULES.get(data["name"])).parameters.get("eval_batch_size")
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
    step: Callable[[dict[str, Any], list[Any]], dict[str, Any]],
    spec: dict[str, Any],
    loggers: list[Any],
    warnings: list[str],
) -> dict[str, Any]:
    """Run ``step``; an attack cell out of memory runs once more with half its batch.

    The retry's batch is written into ``spec`` (``runtime.dataset.kwargs.eval_batch_size``)
    and a line appended to ``warnings``.

    Raises:
        RuntimeError: out of memory again with half the batch (naming both batches).
    """
    try:
        return step(spec, loggers)
    except Exception as err:
        batch = attack_batch(spec) if spec.get("kind") == "attack" else None
        if not is_out_of_memory(err) or batch is None or batch < 2:
            raise
        half = batch // 2
        note = f"out of memory with attack batch {batch} ({first_line(err)}); retried with {half}"
        print(f"cell {spec.get('id')}: {note}", file=sys.stderr, flush=True)
    _free_memory()
    spec["runtime"]["dataset"].setdefault("kwargs", {})["eval_batch_size"] = half
    try:
        result = step(spec, loggers)
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


def result_problem(spec: dict[str, Any], result: dict[str, Any]) -> str | None:
    """Why a cell's result must not be cached (non-finite attack figures), or None."""
    if spec.get("kind") != "attack":
        return None
    mode = spec.get("config", {}).get("mode", "untargeted")
    keys = (*ATTACK_FIGURES, *MODE_FIGURES.get(mode, ()))
    bad = [f"{k}={result.get(k)!r}" for k in keys if not _finite(result.get(k, math.nan))]
    if not bad:
        return None
    return (
        f"attack {spec['config'].get('attack')!r} gave non-finite figures ({', '.join(bad)}; "
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


def result_warnings(spec: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Warnings about a cell's (valid) result: an attack that changed no bit of any code."""
    if spec.get("kind") != "attack":
        return []
    warning = no_flip_warning(spec["config"].get("attack"), result)
    return [warning] if warning else []
