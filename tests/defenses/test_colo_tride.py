"""COLO-TRIDE-H helpers: distances, weighted means, miner, CAP/ANP, the e/E ramp."""

from __future__ import annotations

import torch

from robust_hashing.defenses import ColoTride
from robust_hashing.defenses.colo_tride import low_half, relaxed_hamming, weighted_mean
from tests.defenses.tiny_data import TinyDataModule, build, fit, weights


def test_relaxed_hamming_and_weighted_mean() -> None:
    u = torch.tensor([[1.0, 1, 1, 1]])
    assert relaxed_hamming(u, u).item() == 0 and relaxed_hamming(u, -u).item() == 1
    d = torch.tensor([0.1, 0.5, 0.9])
    assert torch.isclose(weighted_mean(d, 0.0), d.mean())
    assert weighted_mean(d, 1e4) > 0.89
    assert torch.isclose(low_half(d), torch.tensor(0.1))


def test_miner_prefers_gradual_hard_negatives() -> None:
    task = build(ColoTride)
    y = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1], [1, 1]])
    k = task.hparams.bits
    u = torch.ones(5, k)
    u[1, : k // 16] = -1  # positive: d_ap = 1/16
    u[2, : k // 8] = -1  # hard negative: d = 1/8 (d_ap < d < d_ap + m_g)
    u[3] = -1  # easy negative: d = 1
    task.epoch_ramp = lambda: 0.0  # type: ignore[method-assign]
    torch.manual_seed(0)
    for _ in range(5):
        neg, valid = task.mine(u, y, torch.tensor([0]), torch.tensor([1]))
        assert valid.tolist() == [True] and neg.tolist() == [2]
    neg, valid = task.mine(u, y, torch.tensor([4]), torch.tensor([0]))
    assert valid.tolist() == [False]


def test_cap_and_anp_stay_in_budget() -> None:
    task = build(ColoTride)
    with torch.no_grad():  # saturate the outputs, as a trained model's are
        task.model.hash_layer.weight.mul_(300)
    x = TinyDataModule().train.images[:6]
    with torch.no_grad():
        h = task.model(x)[1]
    xa = task.anp(x[:2], h[:2], h[2:4], h[4:], ramp=1.0)
    assert 0 < (xa - x[:2]).abs().max() <= 8 / 255 + 1e-6
    xpn = task.cap(x[2:4], x[4:], h[:2], ramp=1.0)
    assert (xpn - x[2:]).abs().max() <= 8 / 255 + 1e-6
    assert torch.equal(task.anp(x[:2], h[:2], h[2:4], h[4:], ramp=0.0), x[:2])


def test_cap_and_anp_run_once_the_ramp_is_positive() -> None:
    task = build(ColoTride, attack_steps=3)
    before = weights(task)
    calls: list[tuple[str, float]] = []
    for kind in ("cap", "anp"):
        original = getattr(task, kind)

        def spy(*args, _kind=kind, _original=original):  # type: ignore[no-untyped-def]
            calls.append((_kind, args[-1]))
            return _original(*args)

        setattr(task, kind, spy)
    trainer = fit(task, max_steps=-1, max_epochs=2, limit_train_batches=2)
    assert trainer.global_step == 4
    assert calls == [("cap", 0.5), ("anp", 0.5)]  # epoch 0: no perturbation (e/E = 0)
    assert "collapseness" in trainer.callback_metrics
    assert any(not torch.equal(before[k], v) for k, v in weights(task).items())
