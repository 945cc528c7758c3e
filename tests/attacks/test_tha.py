"""THA: PrototypeNet, its circle loss, training and per-model caching."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.attacks import get_attack, tha
from robust_hashing.models.prototype import PrototypeNet, prototype_loss, train_prototype_net
from robust_hashing.ops import sign


def test_prototype_net_shape_and_range() -> None:
    net = PrototypeNet(5, 12)
    p = net(torch.eye(5))
    assert p.shape == (5, 12)
    assert (p.abs() < 1).all()
    with pytest.raises(ValueError):
        PrototypeNet(0, 12)


def test_prototype_loss_prefers_aligned_prototypes() -> None:
    bank = sign(torch.randn(6, 8, generator=torch.Generator().manual_seed(0)))
    bank_labels = torch.eye(3).repeat_interleave(2, dim=0)
    bank[1] = bank[0]
    labels = torch.eye(3)[:1]
    aligned = prototype_loss(0.9 * bank[:1], labels, bank, bank_labels)
    opposite = prototype_loss(-0.9 * bank[:1], labels, bank, bank_labels)
    assert aligned < opposite
    assert torch.isfinite(prototype_loss(torch.zeros(1, 8), torch.zeros(1, 3), bank, bank_labels))


def test_prototype_loss_triu_changes_pairs() -> None:
    g = torch.Generator().manual_seed(1)
    bank = sign(torch.randn(10, 8, generator=g))
    bank_labels = (torch.rand(10, 3, generator=g) < 0.5).float()
    labels = (torch.rand(4, 3, generator=g) < 0.5).float()
    p = torch.tanh(torch.randn(4, 8, generator=g))
    full = prototype_loss(p, labels, bank, bank_labels)
    triu = prototype_loss(p, labels, bank, bank_labels, triu=True)
    assert torch.isfinite(full) and torch.isfinite(triu) and full != triu


def test_train_prototype_net_learns_and_is_seeded(context) -> None:
    pool = context.target_pool
    torch.manual_seed(0)  # the initialisation train_prototype_net(seed=0) starts from
    before = PrototypeNet(context.num_classes, context.bits)
    kw = {"epochs": 2, "steps_per_epoch": 6, "lr": 1e-3}
    net = train_prototype_net(context.train_codes, context.train_labels, pool, **kw)
    net2 = train_prototype_net(context.train_codes, context.train_labels, pool, **kw)
    assert torch.equal(net(pool), net2(pool))
    loss = prototype_loss(net(pool), pool, context.train_codes, context.train_labels)
    loss0 = prototype_loss(before(pool), pool, context.train_codes, context.train_labels)
    assert loss < loss0
    assert not net.training


def test_tha_caches_prototype_per_model(model, context, batch, tmp_path, monkeypatch) -> None:
    context.cache_dir = tmp_path
    context.model_key = "ckpt/a"
    hp = {"steps": 2, "proto_epochs": 1, "proto_steps": 2}
    first = get_attack("tha", model, context, **hp)
    first.prepare()
    files = list(tmp_path.glob("tha-*.pt"))
    assert len(files) == 1 and "ckpt_a" in files[0].name

    def fail(*args, **kwargs):
        raise AssertionError("the cached prototype net must be reused")

    monkeypatch.setattr(tha, "train_prototype_net", fail)
    second = get_attack("tha", model, context, **hp)
    images, labels, targets = batch
    assert torch.equal(
        first.theory_codes(images, labels, targets), second.theory_codes(images, labels, targets)
    )
    context.model_key = "ckpt/b"  # another model: must train again
    with pytest.raises(AssertionError, match="cached"):
        get_attack("tha", model, context, **hp).prepare()
