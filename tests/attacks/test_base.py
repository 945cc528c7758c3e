"""AttackContext, the registry decorator, cache paths and entry-point plugins."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from robust_hashing.attacks import (
    ATTACKS,
    AttackContext,
    HashAttack,
    get_attack,
)
from robust_hashing.attacks.base import cache_path


def test_context_pool_and_validation(context) -> None:
    pool = context.target_pool
    assert (pool.sum(1) > 0).all()
    assert len(torch.unique(pool, dim=0)) == len(pool)
    moved = context.to("cpu")
    assert torch.equal(moved.db_codes, context.db_codes) and moved.db_codes is not context.db_codes
    with pytest.raises(ValueError, match="bits"):
        AttackContext(
            context.train_codes,
            context.train_labels,
            context.db_codes,
            context.db_labels,
            context.num_classes,
            bits=8,
        )


def test_cache_path(context, tmp_path) -> None:
    assert cache_path(context, "tha", a=1) is None  # no cache dir
    context.cache_dir, context.model_key = tmp_path, "runs/x y"
    path = cache_path(context, "tha", b=2, a=1)
    assert path.parent == tmp_path and path.name == "tha-runs_x_y-a=1-b=2.pt"


class _Noop(HashAttack):
    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted", "targeted")

    def forward(self, images, labels, targets):
        return images + 1.0  # out of range on purpose: the base call must project


def test_register_and_project(model, batch) -> None:
    ATTACKS.register("noop_test")(_Noop)
    try:
        assert _Noop.name == "noop_test"
        with pytest.raises(ValueError, match="already registered"):
            ATTACKS.register("noop_test")(type("Other", (_Noop,), {}))
        images, labels, _ = batch
        adv = get_attack("noop_test", model, eps=0.01)(images, labels)
        assert (adv - images).abs().max() <= 0.01 + 1e-6 and adv.max() <= 1
    finally:
        ATTACKS.remove("noop_test")
