"""Hashing losses against direct naive formulas (python loops over pairs), banks, registry."""

from __future__ import annotations

import math

import pytest
import torch

from robust_hashing.losses import (
    LOSSES,
    CSQLoss,
    HashLoss,
    HashNetLoss,
    get_loss,
    hadamard,
    hash_centers,
    list_losses,
)

BITS, N, C, M = 8, 12, 4, 5


def batch(seed=0, m=M):
    gen = torch.Generator().manual_seed(seed)
    u = torch.tanh(2 * torch.randn(m, BITS, generator=gen, dtype=torch.float64))
    labels = (torch.rand(m, C, generator=gen) < 0.4).double()
    labels[0] = 0  # an all-zero label row
    index = torch.randperm(N, generator=gen)[:m]
    return u, labels, index


def filled(name, seed=0, **hp):
    """A loss whose bank is fully populated (float64), plus a fresh batch."""
    loss = get_loss(name, bits=BITS, num_train=N, num_classes=C, **hp).double()
    for s in range(5):
        u, y, _ = batch(100 + s, m=N)
        loss.update_bank(u, y, torch.arange(N))
    return (loss, *batch(seed))


def sim(a, b):
    return 1.0 if float(a @ b) > 0 else 0.0


def naive_pairs(loss, u, y):
    """Yield (i, j, inner product, s_ij) after the bank write of the batch."""
    for i in range(u.shape[0]):
        for j in range(N):
            yield i, j, float(u[i] @ loss.U[j]), sim(y[i], loss.Y[j])


def log_lik(theta, s):
    return math.log(1 + math.exp(theta)) - s * theta


def sgn(v):
    return 1.0 if v >= 0 else -1.0


@pytest.mark.parametrize("seed", range(3))
def test_dph_matches_formula(seed):
    loss, u, y, idx = filled("dph", seed)
    value = loss(u, y, idx)
    total = sum((ip / BITS - (2 * s - 1)) ** 2 for _, _, ip, s in naive_pairs(loss, u, y))
    assert float(value) == pytest.approx(total / (M * N), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_dpsh_matches_formula(seed):
    loss, u, y, idx = filled("dpsh", seed)
    value = loss(u, y, idx)
    lik = sum(log_lik(0.5 * ip, s) for _, _, ip, s in naive_pairs(loss, u, y)) / (M * N)
    quant = sum((float(v) - sgn(float(v))) ** 2 for v in u.flatten()) / u.numel()
    assert float(value) == pytest.approx(lik + 0.001 * quant, rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_dpsh_saat_matches_formula(seed):
    loss, u, y, idx = filled("dpsh_saat", seed)
    value = loss(u, y, idx)
    lik = sum(log_lik(0.5 * ip, s) for _, _, ip, s in naive_pairs(loss, u, y))
    quant = sum((float(v) - sgn(float(v))) ** 2 for v in u.flatten())
    assert float(value) == pytest.approx((lik + 50 * quant) / (M * N), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_hashnet_matches_formula(seed):
    loss, u, y, idx = filled("hashnet", seed)
    value = loss(u, y, idx)
    pairs = list(naive_pairs(loss, u, y))
    n1 = sum(s for *_, s in pairs)
    n0 = len(pairs) - n1
    assert 0 < n1 < len(pairs)
    total = 0.0
    for _, _, ip, s in pairs:
        w = (n1 + n0) / n1 if s else (n1 + n0) / n0
        total += w * log_lik(10 / BITS * ip, s)
    assert float(value) == pytest.approx(total / len(pairs), rel=1e-10)


def test_hashnet_tanh_scale_schedule():
    assert HashNetLoss.tanh_scale(0) == 1.0
    assert HashNetLoss.tanh_scale(199) == 1.0
    assert HashNetLoss.tanh_scale(200) == pytest.approx(math.sqrt(2.0))
    assert HashNetLoss.tanh_scale(650) == pytest.approx(math.sqrt(1 + 0.005 * 600))
    loss = get_loss("hashnet", bits=BITS, num_train=N, num_classes=C)
    assert [loss.train_scale(t) for t in (0, 200, 650)] == [
        HashNetLoss.tanh_scale(t) for t in (0, 200, 650)
    ]
    assert get_loss("dpsh", bits=BITS, num_train=N, num_classes=C).train_scale(650) == 1.0


def test_hashnet_cgat_scale_option():
    loss = get_loss("hashnet", bits=BITS, num_train=N, num_classes=C, sim_scale=0.1)
    assert loss.sim_scale == 0.1
    assert get_loss("hashnet", bits=32, num_train=N, num_classes=C).sim_scale == 10 / 32


def test_stable_for_large_logits():
    loss = get_loss("dpsh", bits=512, num_train=4, num_classes=2)
    u = torch.ones(4, 512, requires_grad=True)
    y = torch.tensor([[1.0, 0], [0, 1], [1, 0], [0, 1]])
    value = loss(u * 1, y, torch.arange(4))  # θ = ±256: the naive log(1+e^θ) overflows
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(u.grad).all()


def test_csq_matches_formula():
    bits, classes = 16, 5
    loss = get_loss("csq", bits=bits, num_train=N, num_classes=classes, lambda_q=0.05).double()
    gen = torch.Generator().manual_seed(3)
    u = torch.tanh(torch.randn(4, bits, generator=gen, dtype=torch.float64))
    y = torch.tensor([[1.0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 1, 0]])
    h = hadamard(bits)
    centers = torch.cat([h, -h])[:classes]
    total = 0.0
    for i in range(4):
        csum = sum(centers[k] for k in range(classes) if y[i, k] == 1) if y[i].any() else 0 * h[0]
        for b in range(bits):
            t = sgn(float(csum[b])) if csum[b] != 0 else float(loss.zero_fill[b])
            p, q = (float(u[i, b]) + 1) / 2, (t + 1) / 2
            total += -(q * math.log(p) + (1 - q) * math.log(1 - p))
    quant = sum((abs(float(v)) - 1) ** 2 for v in u.flatten()) / u.numel()
    value = loss(u, y, torch.arange(4))
    assert float(value) == pytest.approx(total / (4 * bits) + 0.05 * quant, rel=1e-10)
    # single-label rows target their own Hadamard center
    torch.testing.assert_close(loss.targets(y[:1]), centers[:1].double())


def test_hadamard_and_centers():
    for order in (1, 2, 16, 64):
        h = hadamard(order)
        torch.testing.assert_close(h @ h.t(), order * torch.eye(order))
    assert set(hadamard(32).unique().tolist()) == {-1.0, 1.0}
    c = hash_centers(16, 32)
    torch.testing.assert_close(c[16:], -c[:16])
    many = hash_centers(16, 40)  # C > 2K: seeded random centers
    assert many.shape == (40, 16)
    torch.testing.assert_close(many, hash_centers(16, 40))
    assert set(many.unique().tolist()) == {-1.0, 1.0}


def test_csq_refuses_48_bits():
    with pytest.raises(ValueError, match=r"K=48.*16, 32 or 64"):
        get_loss("csq", bits=48, num_train=N, num_classes=C)
    assert "K=48" in CSQLoss.unsupported_bits(48)  # the planner skips these cells
    assert [CSQLoss.unsupported_bits(k) for k in (16, 32, 64)] == [None] * 3
    assert all(LOSSES.get(n).unsupported_bits(48) is None for n in list_losses() if n != "csq")


def test_csq_has_no_bank():
    loss = get_loss("csq", bits=16, num_train=N, num_classes=C)
    assert not CSQLoss.uses_bank
    assert "U" not in dict(loss.named_buffers())
    assert loss.state_dict() == {}


@pytest.mark.parametrize("name", ["dph", "dpsh", "dpsh_saat", "hashnet"])
def test_bank_written_before_scoring(name):
    loss = get_loss(name, bits=BITS, num_train=N, num_classes=C)
    u, y, idx = batch(1)
    loss(u.float(), y.float(), idx)
    torch.testing.assert_close(loss.U[idx], u.float())
    torch.testing.assert_close(loss.Y[idx], y.float())
    untouched = torch.ones(N, dtype=torch.bool)
    untouched[idx] = False
    assert loss.U[untouched].abs().sum() == 0 and loss.Y[untouched].abs().sum() == 0
    # compute() scores against the bank as written, without writing again
    assert float(loss.compute(u.float(), y.float())) == pytest.approx(
        float(loss(u.float(), y.float(), idx))
    )


@pytest.mark.parametrize("name", ["dph", "dpsh", "dpsh_saat", "hashnet", "csq"])
def test_gradient_flows(name):
    loss = get_loss(name, bits=16, num_train=N, num_classes=C)
    z = torch.randn(M, 16, requires_grad=True, generator=torch.Generator().manual_seed(0))
    _, y, idx = batch(2)
    loss(torch.tanh(z), y.float(), idx).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_dpsh_decreases_when_codes_align_with_labels():
    torch.manual_seed(0)
    classes, n = 3, 30
    labels = torch.eye(classes)[torch.arange(n) % classes]
    protos = hadamard(16)[1 : classes + 1]  # mutually orthogonal class codes
    aligned = 0.9 * labels @ protos
    random = torch.tanh(torch.randn(n, 16))
    values = {}
    for key, codes in (("aligned", aligned), ("random", random)):
        loss = get_loss("dpsh", bits=16, num_train=n, num_classes=classes)
        loss.update_bank(codes, labels, torch.arange(n))
        values[key] = float(loss(codes, labels, torch.arange(n)))
    assert values["aligned"] < values["random"]
    # and gradient descent on the codes lowers it
    z = torch.randn(n, 16, requires_grad=True)
    loss = get_loss("dpsh", bits=16, num_train=n, num_classes=classes)
    opt = torch.optim.Adam([z], lr=0.1)
    history = []
    for _ in range(30):
        value = loss(torch.tanh(z), labels, torch.arange(n))
        opt.zero_grad()
        value.backward()
        opt.step()
        history.append(value.item())
    assert history[-1] < 0.5 * history[0]


def test_registry_and_duplicates():
    assert set(list_losses()) == {"dph", "dpsh", "dpsh_saat", "hashnet", "csq"}
    for name in list_losses():
        assert isinstance(get_loss(name, bits=16, num_train=4, num_classes=2), HashLoss)
    with pytest.raises(ValueError, match="already registered"):

        @LOSSES.register("dph")
        class Other(HashLoss):
            pass

    with pytest.raises(KeyError, match="known"):
        get_loss("nope", bits=16, num_train=4, num_classes=2)
