"""ProS-GAN against the official code's formulas (algorithms §5.6), computed here by hand."""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
import torch
from torch import nn

from robust_hashing.attacks import get_attack, prosgan_nets
from robust_hashing.attacks.prosgan_losses import (
    discriminator_loss,
    generator_loss,
    prototype_stage1_loss,
    reconstruction_loss,
)
from robust_hashing.attacks.prosgan_nets import Generator, LabelPrototypeNet
from robust_hashing.attacks.prosgan_official_gen import OfficialGenerator

from .conftest import tiny_hp


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_reconstruction_is_mse_on_images_in_minus_one_one() -> None:
    x = torch.tensor([[[[0.0, 0.25], [0.5, 1.0]]]])
    adv = torch.tensor([[[[0.1, 0.25], [0.2, 0.7]]]])
    # official: x and x′ mapped by 2·v − 1, then the mean squared difference
    expected = _mean(
        [
            ((2 * a - 1) - (2 * b - 1)) ** 2
            for a, b in zip(adv.flatten().tolist(), x.flatten().tolist(), strict=True)
        ]
    )
    assert reconstruction_loss(adv, x).item() == pytest.approx(expected, rel=1e-6)
    mse01 = _mean(
        [(a - b) ** 2 for a, b in zip(adv.flatten().tolist(), x.flatten().tolist(), strict=True)]
    )
    assert expected == pytest.approx(4 * mse01)  # 4× the old [0, 1] term


def test_generator_loss_matches_official_formula() -> None:
    g = torch.Generator().manual_seed(0)
    x, adv = torch.rand(2, 3, 2, 2, generator=g), torch.rand(2, 3, 2, 2, generator=g)
    h = torch.tanh(torch.randn(2, 4, generator=g))
    code = torch.tensor([[1.0, -1, 1, 1], [-1, -1, 1, -1]])
    y_t = torch.tensor([[1.0, 0, 1], [0, 1, 0]])
    scores = torch.randn(2, 4, generator=g)
    rec = _mean(
        [
            ((2 * a - 1) - (2 * b - 1)) ** 2
            for a, b in zip(adv.flatten().tolist(), x.flatten().tolist(), strict=True)
        ]
    )
    hashing = 1 - _mean(
        [a * b for a, b in zip(h.flatten().tolist(), code.flatten().tolist(), strict=True)]
    )
    target = [[*row.tolist(), 0.0] for row in y_t]  # real = 0 in the official GANLoss
    gan = _mean(
        [
            (s - t) ** 2
            for srow, trow in zip(scores.tolist(), target, strict=True)
            for s, t in zip(srow, trow, strict=True)
        ]
    )
    expected = 50 * rec + 5 * hashing + gan
    got = generator_loss(adv, x, h, code, scores, y_t, rec_weight=50)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_discriminator_loss_matches_official_formula() -> None:
    real_scores, fake_scores = torch.tensor([[0.5, -1.0, 0.2]]), torch.tensor([[0.1, 0.3, 0.9]])

    def disc(images: torch.Tensor) -> torch.Tensor:
        return real_scores if images.sum() > 0 else fake_scores

    y, y_t = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    real = _mean([(0.5 - 1) ** 2, (-1.0 - 0) ** 2, (0.2 - 0) ** 2])  # [y, real = 0]
    fake = _mean([(0.1 - 0) ** 2, (0.3 - 1) ** 2, (0.9 - 1) ** 2])  # [y_t, fake = 1]
    got = discriminator_loss(disc, torch.ones(1, 3, 2, 2), y, torch.zeros(1, 3, 2, 2), y_t)
    assert got.item() == pytest.approx(0.5 * (real + fake), rel=1e-6)


def test_stage1_loss_matches_official_formula() -> None:
    p = torch.tensor([[0.5, -0.2, 0.9], [-0.7, 0.1, 0.0]])
    y_hat = torch.tensor([[0.8, 0.1], [0.3, 0.6]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    bank = torch.tensor([[1.0, -1, 1], [-1, 1, 1], [1, 1, -1]])
    bank_y = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    lik = []
    for i in range(2):
        for j in range(3):
            theta = sum(p[i, k].item() * bank[j, k].item() for k in range(3)) / 2
            s = float(y[i] @ bank_y[j] > 0)
            lik.append(math.log(1 + math.exp(theta)) - s * theta)
    mse = _mean(
        [(a - b) ** 2 for a, b in zip(y_hat.flatten().tolist(), y.flatten().tolist(), strict=True)]
    )
    sgn = [[1.0 if v >= 0 else -1.0 for v in row] for row in p.tolist()]
    quant = sum(
        (s - v) ** 2
        for srow, prow in zip(sgn, p.tolist(), strict=True)
        for s, v in zip(srow, prow, strict=True)
    )
    expected = _mean(lik) + mse + quant / (1e4 * 2)  # sum over bits / (1e4 · m)
    got = prototype_stage1_loss(p, y_hat, y, bank, bank_y)
    assert got.item() == pytest.approx(expected, rel=1e-6)


class _SpyAdam(torch.optim.Adam):
    """Adam recording (its parameters' owner, learning rate) at every step."""

    log: ClassVar[list[tuple[int, float, tuple[float, float]]]] = []

    def step(self, closure=None):  # type: ignore[no-untyped-def]
        group = self.param_groups[0]
        _SpyAdam.log.append((id(group["params"][0]), group["lr"], group["betas"]))
        return super().step(closure)


def test_stage1_schedule_and_betas(context, monkeypatch) -> None:
    _SpyAdam.log = []
    monkeypatch.setattr(prosgan_nets.torch.optim, "Adam", _SpyAdam)
    proto = LabelPrototypeNet(context.num_classes, context.bits, hidden=8, feature=4)
    prosgan_nets.train_label_prototype(proto, context, 8, 1e-3, torch.Generator().manual_seed(0))
    lrs = [lr for _, lr, _ in _SpyAdam.log]
    assert lrs == pytest.approx([1e-3] * 4 + [1e-4] * 2 + [1e-5] * 2)  # ×0.1 at 50 %, 75 %
    assert {betas for _, _, betas in _SpyAdam.log} == {(0.5, 0.999)}


def test_stage2_updates_d_before_g_every_third_batch(model, context, monkeypatch) -> None:
    _SpyAdam.log = []
    monkeypatch.setattr(torch.optim, "Adam", _SpyAdam)
    hp = {**tiny_hp("prosgan"), "batch_size": 5, "gan_batches": 4, "gan_epochs": 2}
    attack = get_attack("prosgan", model, context, **hp)
    attack.prepare()
    gen_param = id(next(attack.gen.parameters()))
    proto_param = id(next(attack.proto.parameters()))
    stage2 = [owner for owner, _, _ in _SpyAdam.log if owner != proto_param]
    order = ["G" if owner == gen_param else "D" for owner in stage2]
    assert order == ["D", "G", "G", "G", "D", "G"] * 2  # batches 0 and 3 of each epoch


def test_official_generator_structure_and_no_residual() -> None:
    gen = OfficialGenerator()  # official widths
    enc = gen.label_encoder
    assert enc.fc[0].out_features == 128 * 14 * 14
    ups = [m.out_channels for m in enc.transform if isinstance(m, nn.ConvTranspose2d)]
    assert ups == [64, 32, 16, 8]
    assert gen.stem[0].in_channels == 6 and gen.stem[0].out_channels == 64
    head = gen.head[0]
    assert (head.in_channels, head.out_channels, head.bias) == (64 + 3, 3, None)
    assert isinstance(gen.head[1], nn.Tanh)
    small = OfficialGenerator(
        feature=8, label_width=16, ch=4, enc_blocks=1, dec_blocks=1, label_grid=1
    )
    f = torch.randn(2, 8)
    for size in (16, 18):  # 16·grid pixels, and a size that is resized
        x = torch.rand(2, 3, size, size)
        out = small(x, f)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    nn.init.zeros_(small.head[0].weight)  # x′ = tanh(0) = 0 in [−1, 1]: no skip to x
    assert torch.allclose(small(torch.rand(2, 3, 16, 16), f), torch.full((2, 3, 16, 16), 0.5))


def test_prosgan_gen_arch_option(model, context) -> None:
    assert isinstance(get_attack("prosgan", model, context).gen, Generator)
    official = get_attack("prosgan", model, context, gen_arch="official", label_grid=1)
    assert isinstance(official.gen, OfficialGenerator)
    assert official.gen.label_encoder.width == 128
    with pytest.raises(ValueError, match="gen_arch"):
        get_attack("prosgan", model, context, gen_arch="stargan")
