"""ATRDH: the PrototypeNet is stepped by the defense itself, outside the main optimiser."""

from __future__ import annotations

import torch

from robust_hashing.defenses import ATRDH
from tests.defenses.tiny_data import build, fit


def test_prototype_is_trained_outside_the_main_optimizer() -> None:
    task = build(ATRDH)
    before = [p.clone() for p in task.prototype.parameters()]
    trainer = fit(task, max_steps=2)
    opt = trainer.optimizers[0]
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.5, 0.999)
    main = {id(p) for g in opt.param_groups for p in g["params"]}
    assert not main & {id(p) for p in task.prototype.parameters()}
    assert all(not p.requires_grad for p in task.prototype.parameters())
    assert any(
        not torch.equal(a, b) for a, b in zip(before, task.prototype.parameters(), strict=True)
    )
    assert "loss_proto" in trainer.callback_metrics
