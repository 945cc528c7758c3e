"""COLO-TRIDE-H: the ANP objective and threshold against the spec, and the eval-mode loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import robust_hashing.defenses.colo_tride as colo_module
from robust_hashing.defenses import ColoTride
from robust_hashing.defenses.colo_tride_terms import (
    anp_loss,
    anp_threshold,
    cap_loss,
    collapseness,
    relaxed_hamming,
)
from tests.defenses.tiny_data import TinyDataModule, build, fit

K, LAM = 8, 20.0


def _codes(seed: int) -> tuple[torch.Tensor, ...]:
    """Relaxed codes of 5 perturbed anchors, their positives, negatives and clean anchors."""
    g = torch.Generator().manual_seed(seed)
    pos, neg = (torch.tanh(2 * torch.randn(5, K, generator=g)) for _ in range(2))
    ref = torch.tanh(2 * torch.randn(5, K, generator=g))
    anc = torch.tanh(torch.atanh(ref) + 0.1 * torch.randn(5, K, generator=g))  # a small shift
    return anc, pos, neg, ref


def _dist(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (K - (u * v).sum(1)) / (2 * K)


def _wm(d: np.ndarray) -> float:
    w = np.exp(LAM * (d - d.max()))  # the official form: exp(λ(d − max d)) normalised
    return float((w * d).sum() / w.sum())


def anp_reference(
    anc: np.ndarray, pos: np.ndarray, neg: np.ndarray, ref: np.ndarray, gamma: float | None = None
) -> float:
    """Spec §4.4 ANP on the Hamming distance of §4.5, in numpy (γ held at ``gamma`` if given)."""
    d_ap, d_an = _dist(anc, pos), _dist(anc, neg)
    c = _wm(d_ap) - _wm(d_an)
    if gamma is None:
        gamma = math.exp(-max(0.0, -c))
    t = np.sort(d_an)[: len(d_an) // 2].mean()
    shift = _dist(anc, ref).mean()
    return max(0.0, c) + gamma * max(0.0, t - shift)


def test_anp_threshold_and_its_gradient_come_from_the_perturbed_anchor() -> None:
    anc, _, neg, _ = _codes(0)
    anc.requires_grad_(True)
    t = anp_threshold(anc, neg)
    d_an = _dist(anc.detach().numpy(), neg.numpy())
    low = np.argsort(d_an)[:2]  # ⌊5/2⌋ = 2 smallest
    assert np.isclose(t.item(), d_an[low].mean())
    (grad,) = torch.autograd.grad(t, anc)
    want = np.zeros((5, K))
    want[low] = -neg.numpy()[low] / (2 * K * 2)  # ∂/∂ã_i of (K − ã_i·n_i)/(2K) / 2
    np.testing.assert_allclose(grad.numpy(), want, atol=1e-7)


def test_anp_loss_and_gradient_match_the_spec() -> None:
    for seed in range(4):
        anc, pos, neg, ref = (t.double() for t in _codes(seed))
        anc.requires_grad_(True)
        loss = anp_loss(anc, pos, neg, ref, LAM)
        args = [t.detach().numpy() for t in (anc, pos, neg, ref)]
        assert np.isclose(loss.item(), anp_reference(*args), atol=1e-12)
        (grad,) = torch.autograd.grad(loss, anc)
        # central differences of the numpy formula, γ held constant (no gradient, spec §4.4)
        d_ap, d_an = _dist(args[0], args[1]), _dist(args[0], args[2])
        gamma = math.exp(-max(0.0, _wm(d_an) - _wm(d_ap)))
        num = np.zeros((5, K))
        for i in range(5):
            for j in range(K):
                hi, lo = args[0].copy(), args[0].copy()
                hi[i, j] += 1e-6
                lo[i, j] -= 1e-6
                diff = anp_reference(hi, *args[1:], gamma) - anp_reference(lo, *args[1:], gamma)
                num[i, j] = diff / 2e-6
        np.testing.assert_allclose(grad.numpy(), num, atol=1e-7)


def test_the_threshold_term_is_active_and_carries_gradient() -> None:
    anc, pos, neg, ref = _codes(1)
    d_an = _dist(anc.numpy(), neg.numpy())
    assert np.sort(d_an)[:2].mean() > _dist(anc.numpy(), ref.numpy()).mean()  # T > shift
    anc.requires_grad_(True)
    (full,) = torch.autograd.grad(anp_loss(anc, pos, neg, ref, LAM), anc)
    frozen_t = anp_threshold(anc, neg).detach()  # the first port: T without gradient
    cc = collapseness(relaxed_hamming(anc, pos), relaxed_hamming(anc, neg), LAM)
    gamma = torch.exp(-torch.relu(-cc.detach()))
    shift = relaxed_hamming(anc, ref).mean()
    (no_t,) = torch.autograd.grad(torch.relu(cc) + gamma * torch.relu(frozen_t - shift), anc)
    assert not torch.allclose(full, no_t)


def test_cap_loss_matches_the_spec() -> None:
    anc, pos, neg, _ = _codes(2)
    a, p, n = (t.numpy() for t in (anc, pos, neg))
    c = _wm(_dist(a, p)) - _wm(_dist(a, n))
    assert np.isclose(cap_loss(pos, neg, anc, LAM).item(), max(0.0, -c), atol=1e-6)


def test_miner_and_inner_loops_run_in_full_eval_mode() -> None:
    task = build(ColoTride, attack_steps=2)
    task.model.backbone.append(nn.Dropout(0.5))  # type: ignore[operator]
    modules = list(task.model.modules())
    steps: dict[int, list[bool]] = {}
    forward = task.model.forward

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        steps.setdefault(task.global_step, []).append(any(m.training for m in modules))
        return forward(*args, **kwargs)

    task.model.forward = spy  # type: ignore[method-assign]
    xs: list[torch.Tensor] = []
    build_rows, mine = task.triplet_batch, task.mine

    def rows(x, y, idx):  # type: ignore[no-untyped-def]
        out = build_rows(x, y, idx)
        xs.append(out[0])
        return out

    def mine_spy(u, y, a, p):  # type: ignore[no-untyped-def]
        modes = [m.training for m in modules]
        task.model.eval()
        with torch.no_grad():  # the deterministic eval-mode codes, dropout off
            want = forward(xs[-1])[1]
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)
        assert torch.allclose(u, want, atol=1e-6)
        return mine(u, y, a, p)

    task.triplet_batch = rows  # type: ignore[method-assign]
    task.mine = mine_spy  # type: ignore[method-assign]
    fit(task, max_steps=-1, max_epochs=2, limit_train_batches=2)
    assert all(m.training for m in modules)  # train mode restored
    # epoch 0 (e/E = 0): the clean forward (train) and the miner's (eval)
    assert steps[0][-2:] == steps[1] == [True, False]  # steps[0] starts with the bank fill
    # epoch 1: then the inner CAP/ANP forwards (eval), then the adversarial one (train)
    for t in (2, 3):
        assert steps[t][:2] == [True, False] and steps[t][-1] is True and len(steps[t]) > 3
        assert not any(steps[t][1:-1])


def test_anp_recomputes_the_threshold_from_each_iterate(monkeypatch: pytest.MonkeyPatch) -> None:
    task = build(ColoTride, attack_steps=4, early_stop=-1.0)
    with torch.no_grad():  # saturate the outputs, as a trained model's are
        task.model.hash_layer.weight.mul_(300)
    thresholds: list[torch.Tensor] = []

    def spy(h, up, un, ua, lam):  # type: ignore[no-untyped-def]
        t = anp_threshold(h, un)
        assert t.requires_grad  # T is part of the graph of the perturbed anchor
        thresholds.append(t.detach())
        return anp_loss(h, up, un, ua, lam)

    monkeypatch.setattr(colo_module, "anp_loss", spy)
    x = TinyDataModule().train.images[:6]
    with torch.no_grad():
        h = task.model(x)[1]
    task.anp(x[:2], h[:2], h[2:4], h[4:], ramp=1.0)
    assert len(thresholds) == 4 and len({float(t) for t in thresholds}) > 1
