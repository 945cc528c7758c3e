"""CgAT: the ``faithful_alias`` reproduction of the official code's aliased banks."""

from __future__ import annotations

import pytest
import torch
from jsonargparse import ArgumentParser

from robust_hashing.defenses import CgAT, DefenseTask
from tests.defenses.tiny_data import NUM_TRAIN, build, fit


def _fit_and_visited(task: CgAT, steps: int = 2) -> torch.Tensor:
    """Fit ``steps`` steps; return the mask of training rows the steps wrote."""
    seen = torch.zeros(NUM_TRAIN, dtype=torch.bool)
    update_banks = task.update_banks

    def spy(u, labels, index):  # type: ignore[no-untyped-def]
        seen[index.cpu()] = True
        return update_banks(u, labels, index)

    task.update_banks = spy  # type: ignore[method-assign]
    fit(task, max_steps=steps)
    return seen


def test_default_keeps_a_pure_sign_bank() -> None:
    task = build(CgAT, attack_steps=1)
    seen = _fit_and_visited(task)
    assert seen.sum() == 16
    assert set(task.B.unique().tolist()) <= {-1.0, 1.0}
    U = task.hash_loss.U
    assert (U[~seen].abs() < 1).all()  # U starts from the clean model's relaxed outputs
    assert torch.equal(task.B[seen], torch.where(U[seen] >= 0, 1.0, -1.0))


@pytest.mark.parametrize("loss", ["dpsh", "csq"])
def test_faithful_alias_leaves_tanh_values_in_visited_rows(loss: str) -> None:
    task = build(CgAT, attack_steps=1, faithful_alias=True, loss=loss)
    assert task.hparams.faithful_alias is True
    seen = _fit_and_visited(task)
    B = task.B
    assert (B[seen].abs() < 1).all()  # tanh values, not their signs
    assert set(B[~seen].unique().tolist()) <= {-1.0, 1.0}  # unvisited rows: clean signs
    if loss == "dpsh":  # one shared bank: U is B, visited and unvisited rows alike
        assert torch.equal(task.hash_loss.U, B)


def test_faithful_alias_feeds_the_center_codes() -> None:
    task = build(CgAT, attack_steps=1, faithful_alias=True)
    centers: list[torch.Tensor] = []
    guide_codes = task.guide_codes

    def spy(y):  # type: ignore[no-untyped-def]
        centers.append(task.B.clone())
        return guide_codes(y)

    task.guide_codes = spy  # type: ignore[method-assign]
    fit(task, max_steps=1)
    before, after = centers  # the step computes ĉ before and after its bank write
    assert set(before.unique().tolist()) <= {-1.0, 1.0}
    assert ((after.abs() < 1).any(1)).sum() == 8


def test_faithful_alias_is_a_config_argument() -> None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(DefenseTask, "model")
    model = {
        "class_path": "robust_hashing.defenses.CgAT",
        "init_args": {"backbone": "test_cnn", "bits": 16, "num_train": 32, "num_classes": 5,
                      "faithful_alias": True},
    }  # fmt: skip
    cfg = parser.parse_object({"model": model})
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    task = instantiate(cfg).model
    assert isinstance(task, CgAT) and task.hparams.faithful_alias is True
