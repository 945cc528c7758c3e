"""ATRDH: P stepped outside the main optimiser; the PGD target, target pool and P's loss."""

from __future__ import annotations

import pytest
import torch

import robust_hashing.defenses.atrdh as atrdh_module
from robust_hashing.defenses import ATRDH
from tests.defenses.tiny_data import TinyDataModule, build, fit


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


def _targets_of_one_step(task: ATRDH) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """Fit one step; return the PGD target codes, P's outputs in the step, P's labels."""
    seen: dict[str, torch.Tensor] = {}
    outputs: list[torch.Tensor] = []
    forward = task.prototype.forward

    def p_spy(labels):  # type: ignore[no-untyped-def]
        out = forward(labels)
        outputs.append(out.detach().clone())
        seen.setdefault("labels", labels.clone())
        return out

    def pgd_spy(x, objective, **kw):  # type: ignore[no-untyped-def]
        h = torch.zeros(len(x), task.hparams.bits, requires_grad=True)
        objective(h).backward()  # objective = −mean(h ⊙ t): t = −∇·numel
        assert h.grad is not None
        seen["target"] = -h.grad * h.numel()
        return x

    task.prototype.forward = p_spy  # type: ignore[method-assign]
    task.inner_pgd = pgd_spy  # type: ignore[method-assign]
    fit(task, max_steps=1)
    return seen["target"], outputs, seen["labels"]


def test_pgd_target_defaults_to_the_codes_p_was_trained_on() -> None:
    task = build(ATRDH)
    assert task.hparams.pgd_target == "trained"
    target, outputs, labels = _targets_of_one_step(task)
    assert len(outputs) == 1  # the codes of P's training forward, before its Adam step
    assert torch.allclose(target, torch.where(outputs[0] >= 0, 1.0, -1.0))
    assert len(labels) == len(target) == 8


def test_fresh_pgd_target_codes_new_labels_after_the_step() -> None:
    task = build(ATRDH, pgd_target="fresh")
    target, outputs, _ = _targets_of_one_step(task)
    assert len(outputs) == 2  # P's training forward, then the fresh labels after the step
    assert torch.allclose(target, torch.where(outputs[1] >= 0, 1.0, -1.0))
    with pytest.raises(ValueError, match="pgd_target"):
        build(ATRDH, pgd_target="other")


@pytest.mark.parametrize("zero", [False, True])
def test_target_pool_and_all_zero_labels(zero: bool) -> None:
    assert build(ATRDH).hparams.pool_zero is True  # the official pool by default
    task = build(ATRDH, pool_zero=zero)
    fit(task, max_steps=1)
    assert task._targets is not None
    pool = torch.unique(TinyDataModule().database.labels, dim=0)
    has_zero = bool((task._targets.sum(1) == 0).any())
    assert has_zero is zero
    assert len(task._targets) == len(pool) - (0 if zero else 1)


def test_faithful_triu_reaches_the_prototype_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    flags: list[bool] = []
    loss = atrdh_module.prototype_loss

    def spy(*args, **kw):  # type: ignore[no-untyped-def]
        flags.append(kw["triu"])
        return loss(*args, **kw)

    monkeypatch.setattr(atrdh_module, "prototype_loss", spy)
    for triu in (False, True):
        fit(build(ATRDH, faithful_triu=triu), max_steps=1)
    assert flags == [False, True]
