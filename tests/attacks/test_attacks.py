"""Every registered attack, every supported mode: contract checks and effectiveness."""

from __future__ import annotations

import copy

import pytest
import torch

from robust_hashing.attacks import ATTACKS, AttackContext, get_attack, list_attacks
from robust_hashing.metrics import mean_average_precision
from tests.devices import DEVICES

from .conftest import BITS, CLASSES, ToyDataset, tiny_hp, train_toy_model

CASES = [(n, m) for n in list_attacks() for m in ATTACKS.get(n).supported_modes]
UNSUPPORTED = [
    (n, m)
    for n in list_attacks()
    for m in ("untargeted", "targeted")
    if m not in ATTACKS.get(n).supported_modes
]


def test_builtin_attacks_registered() -> None:
    expected = {
        "hag",
        "sdha",
        "cgat_pgd",
        "mainstay",
        "p2p",
        "dhta",
        "tha",
        "prosgan",
        "prosgan_clip",
    }
    assert expected <= set(list_attacks())
    assert list_attacks("prosgan*") == ["prosgan", "prosgan_clip"]
    for name in expected:
        assert ATTACKS.get(name).name == name


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "mode"), CASES)
def test_attack_contract(name, mode, device, model, context, batch) -> None:
    images, labels, targets = (t.to(device) for t in batch)
    model.to(device)
    targeted = mode == "targeted"
    attack = get_attack(name, model, context, targeted=targeted, **tiny_hp(name))
    assert attack.mode == mode
    model.train()
    adv = attack(images, labels, targets if targeted else None)
    assert model.training, "the model mode must be restored"
    assert adv.shape == images.shape and adv.device == images.device
    assert torch.isfinite(adv).all()
    assert adv.min() >= 0 and adv.max() <= 1
    if attack.bounded:
        assert (adv - images).abs().max() <= attack.eps + 1e-6
    assert not adv.requires_grad
    assert all(p.grad is None for p in model.parameters()), "parameter grads must stay untouched"
    model.eval()
    theory = attack.theory_codes(images, labels, targets if targeted else None)
    if theory is not None:
        assert theory.shape == (len(images), BITS)
        assert set(theory.unique().tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize(("name", "mode"), UNSUPPORTED)
def test_unsupported_mode_is_refused(name, mode, model, context) -> None:
    with pytest.raises(ValueError, match=rf"attack '{name}' does not support {mode} mode"):
        get_attack(name, model, context, targeted=mode == "targeted")


@pytest.mark.parametrize("name", [n for n, m in CASES if m == "targeted"])
def test_targeted_needs_targets(name, model, context, batch) -> None:
    images, labels, _targets = batch
    attack = get_attack(name, model, context, targeted=True, **tiny_hp(name))
    with pytest.raises(ValueError, match="pass target labels"):
        attack(images, labels)


def test_untargeted_refuses_targets(model, context, batch) -> None:
    images, labels, targets = batch
    with pytest.raises(ValueError, match="untargeted"):
        get_attack("hag", model, context, steps=1)(images, labels, targets)


@pytest.mark.parametrize("name", ["cgat_pgd", "mainstay", "sdha", "p2p", "tha"])
def test_missing_context_is_a_clear_error(name, model) -> None:
    with pytest.raises(ValueError, match="needs an AttackContext"):
        get_attack(name, model, None)


def test_quick_profile_and_overrides(model, context) -> None:
    assert get_attack("dhta", model, context).steps == 2000
    assert (
        get_attack("dhta", model, context, quick=True).steps == ATTACKS.get("dhta").quick["steps"]
    )
    assert get_attack("dhta", model, context, quick=True, steps=7).steps == 7
    assert get_attack("dhta", model, context).n_t == 9
    assert get_attack("p2p", model, context).n_t == 1
    assert not get_attack("prosgan", model, context).bounded
    assert get_attack("prosgan_clip", model, context).bounded


def test_mode_restored_on_error(model, context, batch) -> None:
    images, labels, _ = batch
    attack = get_attack("cgat_pgd", model, context, steps=1)
    model.train()
    with pytest.raises(RuntimeError):
        attack(images[:, :2], labels)  # wrong channel count: the forward fails
    assert model.training


# --- effectiveness on a briefly trained toy model -------------------------------------


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    net, data = train_toy_model(steps=30)
    db, q = ToyDataset(100, seed=50), ToyDataset(16, seed=51)
    db_codes = net.encode(db.images)
    ctx = AttackContext(net.encode(data.images), data.labels, db_codes, db.labels, CLASSES, BITS)
    from robust_hashing.attacks.targets import draw_target_labels

    return net, ctx, q, db_codes, db.labels, draw_target_labels(q.labels, db.labels)


def _map(net, images, db_codes, labels, db_labels) -> float:
    return mean_average_precision(net.encode(images).cpu(), db_codes, labels, db_labels)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "hp"), [("hag", {"steps": 40}), ("mainstay", {"steps": 10})])
def test_untargeted_attacks_lower_map(name, hp, device, toy) -> None:
    net, ctx, q, db_codes, db_labels, _ = toy
    net, images = copy.deepcopy(net).to(device), q.images.to(device)
    clean = _map(net, images, db_codes, q.labels, db_labels)
    assert clean > 0.7
    attack = (
        get_attack(name, net, ctx, eps=16 / 255, step=4 / 255, **hp)
        if name == "mainstay"
        else get_attack(name, net, ctx, eps=16 / 255, **hp)
    )
    adv = attack(images, q.labels.to(device))
    assert _map(net, adv, db_codes, q.labels, db_labels) < clean - 0.05


def test_targeted_mainstay_raises_tmap(toy) -> None:
    net, ctx, q, db_codes, db_labels, targets = toy
    clean = _map(net, q.images, db_codes, targets, db_labels)
    attack = get_attack("mainstay", net, ctx, targeted=True, eps=16 / 255, step=4 / 255, steps=10)
    adv = attack(q.images, q.labels, targets)
    assert _map(net, adv, db_codes, targets, db_labels) > clean + 0.1
    theory = attack.theory_codes(q.images, q.labels, targets)
    assert mean_average_precision(theory, db_codes, targets, db_labels) > clean
