"""Device parametrisation: every test that takes ``device`` runs on the CPU, and on CUDA too
under ``make test-gpu`` (marked ``gpu``, skipped where no CUDA device is visible)."""

from __future__ import annotations

from typing import Any

import lightning as L
import pytest
import torch

CUDA = pytest.param(
    "cuda",
    id="cuda",
    marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    ],
)
DEVICES = ["cpu", CUDA]


def quiet_trainer(accelerator: str = "cpu", **kwargs: Any) -> L.Trainer:
    """A single-device Trainer with no logger, checkpoints, progress bar or model summary."""
    options: dict[str, Any] = {
        "accelerator": accelerator,
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return L.Trainer(**{**options, **kwargs})
