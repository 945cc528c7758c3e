"""The sign-PGD engine and the A10 schedule as used by the attacks."""

from __future__ import annotations

import torch

from robust_hashing.attacks import get_attack, pgd
from robust_hashing.attacks.pgd import a10_alpha
from robust_hashing.ops import anneal_a10


def test_a10_schedule_values() -> None:
    values = [anneal_a10(t, 2000) for t in range(2000)]
    assert values[0] == values[999] == 0.1
    assert values[1000] == 0.2 and values[1199] == 0.2
    assert values[1200] == 0.3 and values[1400] == 0.5 and values[1600] == 0.7
    assert values[1800] == values[1999] == 1.0
    assert [a10_alpha(10)(t) for t in range(10)] == [0.1] * 5 + [0.2, 0.3, 0.5, 0.7, 1.0]


def test_sign_pgd_attacks_follow_a10(model, context, batch, monkeypatch) -> None:
    images, labels, _ = batch
    seen: list[float] = []
    original = model.forward

    def recording(x, alpha=1.0):
        seen.append(alpha)
        return original(x, alpha)

    monkeypatch.setattr(model, "forward", recording)
    get_attack("cgat_pgd", model, context, steps=20)(images, labels)
    assert seen == [anneal_a10(t, 20) for t in range(20)]


def test_pgd_respects_ball_and_range() -> None:
    x = torch.rand(3, 3, 8, 8)
    target = torch.rand(3, 3, 8, 8)
    adv = pgd(
        x,
        lambda a, t: (a - target).pow(2).sum(),
        eps=0.05,
        step=0.01,
        steps=10,
        generator=torch.Generator().manual_seed(0),
    )
    assert (adv - x).abs().max() <= 0.05 + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    # it moves towards the target
    assert (adv - target).pow(2).sum() < (x - target).pow(2).sum()


def test_pgd_is_seeded() -> None:
    x = torch.rand(2, 3, 8, 8)

    def run(seed: int) -> torch.Tensor:
        return pgd(x, lambda a, t: a.sum(), steps=0, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))
    assert torch.equal(pgd(x, lambda a, t: a.sum(), steps=0, random_start=False), x)


def test_attack_is_reproducible(model, context, batch) -> None:
    images, labels, _ = batch
    a = get_attack("mainstay", model, context, steps=3, seed=4)(images, labels)
    b = get_attack("mainstay", model, context, steps=3, seed=4)(images, labels)
    assert torch.equal(a, b)
