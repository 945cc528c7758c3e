"""The ``noise`` baseline: exact ±ε sign noise, seeded, weaker than a real attack, not in ``all``."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.attacks import AttackContext, get_attack, grid_attacks, list_attacks
from robust_hashing.attacks.cli import attack_jobs
from robust_hashing.metrics import mean_average_precision

from .conftest import BITS, CLASSES, ToyDataset, train_toy_model


def test_every_pixel_moves_by_plus_or_minus_eps(model) -> None:
    images = torch.full((4, 3, 16, 16), 0.5)
    adv = get_attack("noise", model, eps=0.05)(images, torch.ones(4, CLASSES))
    delta = adv - images
    assert torch.allclose(delta.abs(), torch.full_like(delta, 0.05))
    share_up = (delta > 0).float().mean().item()
    assert 0.45 < share_up < 0.55  # 3072 fair coin flips


def test_clamped_at_the_image_range(model) -> None:
    images = torch.cat([torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)])
    adv = get_attack("noise", model, eps=0.1)(images, torch.ones(2, CLASSES))
    assert adv[0].unique().tolist() == pytest.approx([0.0, 0.1])  # half the pixels cannot go down
    assert adv[1].unique().tolist() == pytest.approx([0.9, 1.0])


def test_the_seed_fixes_the_noise(model) -> None:
    images, labels = torch.rand(3, 3, 16, 16), torch.ones(3, CLASSES)
    first, again, other = (get_attack("noise", model, seed=s)(images, labels) for s in (1, 1, 2))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_noise_is_a_floor_a_real_attack_beats() -> None:
    torch.set_num_threads(1)
    net, data = train_toy_model(steps=30)
    db, q = ToyDataset(100, seed=50), ToyDataset(16, seed=51)
    db_codes = net.encode(db.images)
    ctx = AttackContext(net.encode(data.images), data.labels, db_codes, db.labels, CLASSES, BITS)

    def map_of(images: torch.Tensor) -> float:
        return mean_average_precision(net.encode(images), db_codes, q.labels, db.labels)

    clean = map_of(q.images)
    noise = map_of(get_attack("noise", net, ctx, eps=16 / 255)(q.images, q.labels))
    hag = map_of(get_attack("hag", net, ctx, eps=16 / 255, steps=40)(q.images, q.labels))
    assert clean > 0.7
    assert noise > clean - 0.1  # random noise barely moves a trained model's codes
    assert hag < noise - 0.05


def test_runs_by_name_only() -> None:
    assert "noise" in list_attacks()
    assert "noise" not in grid_attacks()
    assert all(name != "noise" for name, _ in attack_jobs("all", False))
    assert attack_jobs("noise", False) == [("noise", "untargeted")]
