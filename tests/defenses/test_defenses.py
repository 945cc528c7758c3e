"""Every registered defense: one training step through a Trainer on the tiny data."""

from __future__ import annotations

import inspect

import pytest
import torch

from robust_hashing.defenses import get_defense, list_defenses
from tests.defenses.tiny_data import (
    BITS,
    NUM_CLASSES,
    NUM_TRAIN,
    TinyDataModule,
    build,
    fit,
    weights,
)
from tests.devices import DEVICES

NAMES = list_defenses()


def test_list_defenses() -> None:
    assert {"none", "atrdh", "cgat", "saat", "colo_tride"} <= set(NAMES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_one_step_changes_weights_and_keeps_banks(name: str, device: str) -> None:
    task = build(get_defense(name))
    before = weights(task)
    fit(task, accelerator=device)
    after = weights(task)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert all(torch.isfinite(v).all() for v in after.values())
    assert task.B.shape == (NUM_TRAIN, BITS)
    assert set(task.B.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(task.Y.cpu(), TinyDataModule().train.labels)
    assert task.hash_loss.U.shape == (NUM_TRAIN, BITS)
    assert task.hash_loss.U.abs().max() <= 1
    assert task.trainer.callback_metrics.keys() >= {"train_loss_step", "loss_hash"}


@pytest.mark.parametrize("name", NAMES)
def test_bit_exact_with_same_seed(name: str) -> None:
    runs = []
    for _ in range(2):
        task = build(get_defense(name))
        fit(task, max_steps=2)
        runs.append((weights(task), task.B.clone(), task.hash_loss.U.clone()))
    (w1, b1, u1), (w2, b2, u2) = runs
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert torch.equal(b1, b2) and torch.equal(u1, u2)


@pytest.mark.parametrize("name", NAMES)
def test_quick_profile_names_init_arguments(name: str) -> None:
    cls = get_defense(name)
    params = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            params |= set(inspect.signature(klass.__init__).parameters)
    from robust_hashing.benchmark.catalog import TRAINER_HP

    task_hp = {k: v for k, v in cls.quick.items() if k not in TRAINER_HP}
    assert set(task_hp) <= params
    task = build(cls, **task_hp)
    assert task.hparams.num_classes == NUM_CLASSES
