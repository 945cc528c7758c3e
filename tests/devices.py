"""Device parametrisation: every test that takes ``device`` runs on the CPU, and on CUDA too
under ``make test-gpu`` (marked ``gpu``, skipped where no CUDA device is visible)."""

from __future__ import annotations

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
