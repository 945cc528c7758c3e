"""HashingTask: the clean training step's tanh scale (HashNet schedule; 1 for other losses)."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import pytest
import torch

from robust_hashing.losses import HashNetLoss
from robust_hashing.tasks import HashingTask
from tests.defenses.tiny_data import BITS, NUM_CLASSES, NUM_TRAIN, TinyDataModule
from tests.devices import quiet_trainer


def _task(loss: str, cls: type[HashingTask] = HashingTask) -> HashingTask:
    L.seed_everything(0, verbose=False)
    return cls(
        backbone="test_cnn", bits=BITS, loss=loss, num_train=NUM_TRAIN, num_classes=NUM_CLASSES
    )


class Spy:
    """Wraps the task's hash network: records (global step, α, z, u) of every training call."""

    def __init__(self, task: HashingTask) -> None:
        self.task, self.calls = task, []
        self.forward = task.model.forward
        task.model.forward = self  # type: ignore[method-assign]

    def __call__(self, x: torch.Tensor, alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        z, u = self.forward(x, alpha)
        if self.task.training:
            self.calls.append((self.task.global_step, alpha, z.detach(), u.detach()))
        return z, u


def _train(loss: str, steps: int) -> tuple[HashingTask, list[Any]]:
    task = _task(loss)
    spy = Spy(task)
    quiet_trainer(max_steps=steps, limit_val_batches=0).fit(task, datamodule=TinyDataModule())
    return task, spy.calls


class AtStep(HashingTask):
    """A task whose global step is set by the test (no 400-step fit needed)."""

    step = 0

    @property
    def global_step(self) -> int:  # type: ignore[override]
        return self.step


@pytest.mark.parametrize(
    ("step", "scale"),
    [(0, 1.0), (199, 1.0), (200, math.sqrt(2.0)), (399, math.sqrt(2.0)), (400, math.sqrt(3.0))],
)
def test_hashnet_training_step_uses_the_scheduled_scale(step: int, scale: float) -> None:
    task = _task("hashnet", AtStep)
    task.step = step
    spy = Spy(task)
    x, y, idx = next(iter(TinyDataModule().train_dataloader()))
    with pytest.warns(UserWarning, match="self.log"):  # no trainer attached
        task.training_step((x, y, idx), 0)
    [(_, alpha, z, u)] = spy.calls
    assert alpha == pytest.approx(scale)
    assert torch.equal(u, torch.tanh(alpha * z))
    if step >= 200:
        assert not torch.equal(u, torch.tanh(z))  # the scale really reaches the codes
    # evaluation is back at scale 1: forward's default, and the sign codes
    task.eval()
    z, u = task(x)
    assert torch.equal(u, torch.tanh(z))
    assert torch.equal(task.model.encode(x), torch.where(z >= 0, 1.0, -1.0))


def test_hashnet_fit_follows_the_schedule() -> None:
    _, calls = _train("hashnet", 3)
    assert [c[0] for c in calls] == [0, 1, 2]
    assert all(alpha == 1.0 for _, alpha, *_ in calls)


@pytest.mark.slow
def test_hashnet_fit_follows_the_schedule_to_step_400() -> None:
    _, calls = _train("hashnet", 401)
    assert [c[0] for c in calls] == list(range(401))
    for step, alpha, z, u in calls:
        assert alpha == HashNetLoss.tanh_scale(step)
        assert torch.equal(u, torch.tanh(alpha * z))
    alphas = {step: alpha for step, alpha, *_ in calls}
    assert alphas[199] == 1.0
    assert alphas[200] == pytest.approx(math.sqrt(2.0))
    assert alphas[400] == pytest.approx(math.sqrt(3.0))


def test_other_losses_keep_scale_one() -> None:
    _, calls = _train("dpsh", 3)
    assert [c[0] for c in calls] == [0, 1, 2]
    for _, alpha, z, u in calls:
        assert alpha == 1.0
        assert torch.equal(u, torch.tanh(z))


@pytest.mark.parametrize("loss", ["dph", "dpsh", "dpsh_saat", "csq"])
def test_train_scale_hook_defaults_to_one(loss: str) -> None:
    task = _task(loss)
    assert [task.hash_loss.train_scale(s) for s in (0, 200, 10_000)] == [1.0, 1.0, 1.0]


def test_dpsh_training_step_matches_the_unscaled_network() -> None:
    """The DPSH step is what it was before the hook: loss of tanh(z), bit for bit."""
    task, reference = _task("dpsh"), _task("dpsh")
    reference.load_state_dict(task.state_dict())
    x, y, idx = next(iter(TinyDataModule().train_dataloader()))
    with pytest.warns(UserWarning, match="self.log"):  # no trainer attached
        loss = task.training_step((x, y, idx), 0)
    _, u = reference.model(x)
    assert torch.equal(loss, reference.hash_loss(u, y.float(), idx))
