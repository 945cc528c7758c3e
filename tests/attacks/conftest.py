"""Fixtures of the attack tests: a tiny model, a synthetic context, a toy trained model."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from robust_hashing.attacks import ATTACKS, AttackContext
from robust_hashing.models import HashNet, create_hash_net
from robust_hashing.ops import sign

BITS, CLASSES, SIZE = 16, 4, 16


class ToyDataset(Dataset):
    """Separable multi-label images: class c brightens quadrant c in its own colour."""

    def __init__(self, n: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = (torch.rand(n, CLASSES, generator=g) < 0.35).float()
        self.labels[self.labels.sum(1) == 0, torch.randint(CLASSES, (1,), generator=g)] = 1.0
        images = 0.15 + 0.1 * torch.rand(n, 3, SIZE, SIZE, generator=g)
        colours = torch.eye(3)[[0, 1, 2, 0]].view(CLASSES, 3, 1, 1) * 0.6
        h = SIZE // 2
        for c in range(CLASSES):
            quad = torch.zeros(1, 1, SIZE, SIZE)
            quad[..., (c // 2) * h : (c // 2 + 1) * h, (c % 2) * h : (c % 2 + 1) * h] = 1
            images = images + self.labels[:, c].view(-1, 1, 1, 1) * quad * colours[c]
        self.images = images.clamp(0, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.images[i], self.labels[i], i


def tiny_hp(name: str) -> dict[str, Any]:
    """The attack's ``quick`` overrides, shrunk further: every integer at most 2."""
    quick = ATTACKS.get(name).quick
    return {
        k: (min(v, 2) if isinstance(v, int) and not isinstance(v, bool) else v)
        for k, v in quick.items()
    }


@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny tensors run much faster on one thread (and predictably on a loaded machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model() -> HashNet:
    torch.manual_seed(0)
    return create_hash_net("test_cnn", BITS)


@pytest.fixture
def context() -> AttackContext:
    g = torch.Generator().manual_seed(1)
    train = ToyDataset(48, seed=2)
    db_labels = (torch.rand(40, CLASSES, generator=g) < 0.4).float()
    return AttackContext(
        train_codes=sign(torch.randn(48, BITS, generator=g)),
        train_labels=train.labels,
        db_codes=sign(torch.randn(40, BITS, generator=g)),
        db_labels=db_labels,
        num_classes=CLASSES,
        bits=BITS,
        train_loader=DataLoader(train, batch_size=8, shuffle=True),
    )


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    data = ToyDataset(4, seed=3)
    targets = torch.tensor([[0.0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 1]])
    return data.images, data.labels, targets


def train_toy_model(steps: int = 60, seed: int = 0) -> tuple[HashNet, ToyDataset]:
    """A test_cnn hashing model briefly trained (CSQ-style targets) on the toy problem."""
    torch.manual_seed(seed)
    net = create_hash_net("test_cnn", BITS)
    data = ToyDataset(96, seed=seed + 10)
    centers = sign(torch.randn(CLASSES, BITS, generator=torch.Generator().manual_seed(seed)))
    target = sign(data.labels @ centers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(steps):
        pick = torch.arange(step * 32, step * 32 + 32) % len(data)
        _, h = net(data.images[pick])
        loss = F.binary_cross_entropy((h + 1) / 2, (target[pick] + 1) / 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval(), data
