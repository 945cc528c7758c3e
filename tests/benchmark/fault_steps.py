"""Cell steps with injected faults, on top of :mod:`fake_steps` (loaded by file path).

Attack names select the fault: ``nan`` reports NaN figures, ``flat`` changes no bit,
``oom_once`` runs out of CUDA memory unless the attack batch is at most 8, ``oom_always``
runs out of CPU memory at any batch. Every other name behaves as in :mod:`fake_steps`.
``slow*`` names sleep briefly (so that a kill can land inside a cell).
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from typing import Any

from robust_hashing.benchmark.cell_types import AttackInfo
from robust_hashing.benchmark.spec import CellSpec

_spec = importlib.util.spec_from_file_location(
    "fake_steps", Path(__file__).with_name("fake_steps.py")
)
assert _spec is not None and _spec.loader is not None
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

CELL_SECONDS = 0.02


def run_clean(spec: CellSpec, loggers: list) -> dict[str, Any]:
    time.sleep(CELL_SECONDS)
    return fake.run_clean(spec, loggers)


def run_defense(spec: CellSpec, loggers: list) -> dict[str, Any]:
    time.sleep(CELL_SECONDS)
    return fake.run_defense(spec, loggers)


def run_attack(spec: CellSpec, loggers: list) -> dict[str, Any]:
    name = spec.cell.part(AttackInfo).name
    batch = spec.cell.victim.dataset_kwargs.get("eval_batch_size")
    if name == "oom_once" and (batch is None or batch > 8):
        import torch

        fake._count(spec)
        raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {batch} GiB")
    if name == "oom_always":
        fake._count(spec)
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 68719476736 bytes. Error code 12"
        )
    time.sleep(CELL_SECONDS)
    report = fake.run_attack(spec, loggers)
    report["batch"] = batch
    if name == "nan":
        report.update(linf=math.nan, l2=math.inf)
    if name == "flat":
        report["bit_flip"] = 0.0
    return report


USES_LOGGERS = False
STEPS = {**fake.STEPS, "clean": run_clean, "defense": run_defense, "attack": run_attack}
