"""A tiny in-memory hashing data module for the defense tests (importable by DDP workers)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from tests.devices import quiet_trainer

NUM_TRAIN = 32
NUM_CLASSES = 5
SIZE = 16


class TinyDataset(Dataset):
    """Seeded random images with random multi-hot labels; rows 0 and 1 have no label."""

    def __init__(self, n: int = NUM_TRAIN, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.images = torch.rand(n, 3, SIZE, SIZE, generator=g)
        self.labels = (torch.rand(n, NUM_CLASSES, generator=g) < 0.35).float()
        self.labels[2:][self.labels[2:].sum(1) == 0, 0] = 1.0
        self.labels[:2] = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.images[i], self.labels[i], i


class TinyDataModule(L.LightningDataModule):
    """The subset of the HashingDataModule contract the defenses use."""

    def __init__(self, batch_size: int = 8, seed: int = 0) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.seed = seed
        self.train = TinyDataset(NUM_TRAIN, seed=0)
        self.database = TinyDataset(24, seed=1)

    @property
    def num_train(self) -> int:
        return NUM_TRAIN

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES

    def labels(self, split: str) -> torch.Tensor:
        return {"train": self.train, "database": self.database}[split].labels

    def train_dataloader(self) -> DataLoader:
        gen = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True, generator=gen)

    def train_eval_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=16, shuffle=False)


BITS = 16


def build(cls: type, seed: int = 0, **kw: Any) -> Any:
    L.seed_everything(seed, verbose=False)
    args: dict[str, Any] = {
        "backbone": "test_cnn",
        "bits": BITS,
        "num_train": NUM_TRAIN,
        "num_classes": NUM_CLASSES,
    }
    args.update(kw)
    return cls(**args)


def fit(task: Any, seed: int = 0, **trainer_kw: Any) -> L.Trainer:
    L.seed_everything(seed, verbose=False)
    trainer = quiet_trainer(**{"max_steps": 1, "limit_val_batches": 0, **trainer_kw})
    trainer.fit(task, datamodule=TinyDataModule())
    return trainer


def weights(task: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in task.model.state_dict().items()}
