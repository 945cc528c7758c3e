"""Loggers of benchmark cells: a CSVLogger always, a WandbLogger unless ``WANDB_MODE=disabled``.

wandb runs offline by default (``WANDB_MODE`` unset → ``offline``), so nothing needs a
network or an API key; ``wandb sync <dir>`` uploads the runs later. Runs are grouped by
``<dataset>-<bits>bit`` with ``job_type`` = the defense (training) or the attack, so the
wandb UI lays defenses side by side.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from torch import Tensor

from robust_hashing.benchmark.cell_types import AttackInfo, RankingInfo

if TYPE_CHECKING:
    from robust_hashing.benchmark.spec import CellSpec

DEFAULT_PROJECT = "robust_hashing"


def wandb_mode() -> str:
    """``WANDB_MODE`` with ``offline`` as the default (``online``/``offline``/``disabled``)."""
    return os.environ.get("WANDB_MODE", "offline") or "offline"


def wandb_enabled() -> bool:
    """False when ``WANDB_MODE=disabled``."""
    return wandb_mode() != "disabled"


def cell_loggers(spec: CellSpec) -> list[Logger]:
    """CSVLogger in the cell folder, plus a WandbLogger grouped by dataset and bits."""
    cell = spec.cell
    loggers: list[Logger] = [CSVLogger(save_dir=str(cell.dir), name="csv", version=0)]
    if not wandb_enabled():
        return loggers
    wandb_dir = spec.runtime.wandb_dir
    wandb_dir.mkdir(parents=True, exist_ok=True)
    defense = cell.defense.id if cell.defense is not None else None
    task = cell.task
    if isinstance(task, AttackInfo):
        job = f"{task.name}-{task.mode}"
    else:
        job = "ranking" if isinstance(task, RankingInfo) else defense or cell.kind
    loggers.append(
        WandbLogger(
            project=spec.runtime.wandb_project,
            group=f"{cell.victim.dataset}-{cell.victim.bits}bit",
            job_type=job,
            name=cell.id,
            save_dir=str(wandb_dir),
            offline=wandb_mode() != "online",
            config={"cell": cell.id, "key": cell.key, **cell.hashed_config(), **cell.meta},
            tags=[cell.kind, defense or "clean"],
        )
    )
    return loggers


def finish(loggers: list[Logger]) -> None:
    """Close the wandb runs of ``loggers`` (flushes the offline run folder)."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.finish()


def image_grid(rows: list[Tensor]) -> Tensor:
    """Stack B×3×H×W batches as rows of one 3×(R·H)×(B·W) image (no torchvision)."""
    lines = [torch.cat(list(batch.detach().cpu().clamp(0, 1)), dim=2) for batch in rows]
    return torch.cat(lines, dim=1)


def log_examples(loggers: list[Logger], clean: Tensor, adv: Tensor) -> None:
    """Log clean / adversarial / amplified-perturbation rows as one wandb image."""
    delta = (adv - clean) * 0.5 / max(float((adv - clean).abs().max()), 1e-12) + 0.5
    grid = image_grid([clean, adv, delta]).permute(1, 2, 0).numpy()
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(
                key="adversarial_examples",
                images=[grid],
                caption=["rows: clean, adversarial, perturbation (rescaled)"],
            )


def sync_hint(wandb_dir: Path) -> str | None:
    """The ``wandb sync`` command for the offline runs under ``wandb_dir`` (None if none)."""
    runs = Path(wandb_dir) / "wandb"
    if wandb_mode() == "online" or not runs.is_dir() or not any(runs.glob("offline-run-*")):
        return None
    return f"wandb sync {runs}/offline-run-*"
