"""Shared fixtures: tiny in-memory hashing data, no network, wandb off."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import lightning.pytorch  # noqa: F401
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

# Imported here, at collection, Lightning binds its console log handler to pytest's
# run-wide stderr; imported first inside a test, it would bind to that test's capsys
# stream, closed afterwards, and later tests' info lines would end in "Logging error".
os.environ.setdefault("WANDB_MODE", "disabled")


class TinyHashingDataset(Dataset):
    """Seeded multi-label images whose label sets are visible as coloured quadrants."""

    def __init__(self, n: int, num_classes: int = 4, size: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = (torch.rand(n, num_classes, generator=g) < 0.4).float()
        self.labels[self.labels.sum(1) == 0, 0] = 1.0
        base = torch.rand(n, 3, size, size, generator=g) * 0.2
        colours = torch.rand(num_classes, 3, 1, 1, generator=g)
        for c in range(num_classes):
            mask = self.labels[:, c].view(-1, 1, 1, 1)
            quad = torch.zeros(1, 1, size, size)
            h = size // 2
            quad[..., (c // 2) * h : (c // 2 + 1) * h, (c % 2) * h : (c % 2 + 1) * h] = 1
            base = base + mask * quad * colours[c] * 0.8
        self.images = base.clamp(0, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.images[i], self.labels[i], i


@pytest.fixture
def tiny_loader() -> DataLoader:
    return DataLoader(TinyHashingDataset(40), batch_size=8, shuffle=False)


NUSWIDE = Path(__file__).resolve().parent / "data" / "nuswide"


@pytest.fixture
def broken_nuswide(tmp_path: Path) -> Path:
    """A copy of tests/data/nuswide whose test_label.txt has a row one value short (line 3)."""
    root = tmp_path / "nuswide"
    root.mkdir()
    for path in NUSWIDE.glob("*.txt"):
        shutil.copy(path, root)
    (root / "Flickr").symlink_to(NUSWIDE / "Flickr")
    labels = (root / "test_label.txt").read_text().splitlines()
    labels[2] = labels[2].rsplit(" ", 1)[0]
    (root / "test_label.txt").write_text("\n".join(labels) + "\n")
    return root
