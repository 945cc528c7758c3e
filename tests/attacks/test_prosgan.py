"""ProS-GAN: networks, unbounded vs clipped output, training needs images, caching."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.attacks import get_attack
from robust_hashing.attacks.prosgan_nets import Discriminator, Generator, LabelPrototypeNet

from .conftest import tiny_hp


def test_networks_shapes() -> None:
    proto = LabelPrototypeNet(4, 16, hidden=32, feature=8)
    f, p, y_hat = proto(torch.eye(4))
    assert f.shape == (4, 8) and p.shape == (4, 16) and y_hat.shape == (4, 4)
    gen = Generator(feature=8, ch=4, blocks=1)
    for size in (16, 18):  # odd multiples of 4 too
        x = torch.rand(4, 3, size, size)
        out = gen(x, f)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert Discriminator(4, ch=4)(torch.rand(2, 3, 16, 16)).shape == (2, 5)


def test_prosgan_needs_training_images(model, context, batch) -> None:
    context.train_loader = None
    images, labels, targets = batch
    with pytest.raises(ValueError, match="train_loader"):
        get_attack("prosgan", model, context, **tiny_hp("prosgan"))(images, labels, targets)


def test_prosgan_cached_and_clip_bounded(model, context, batch, tmp_path) -> None:
    context.cache_dir, context.model_key = tmp_path, "m1"
    images, labels, targets = batch
    free = get_attack("prosgan", model, context, **tiny_hp("prosgan"))
    adv = free(images, labels, targets)
    assert len(list(tmp_path.glob("prosgan-*.pt"))) == 1
    clipped = get_attack("prosgan_clip", model, context, **tiny_hp("prosgan"))
    adv_clip = clipped(images, labels, targets)  # loads the same cached networks
    assert (adv_clip - images).abs().max() <= 8 / 255 + 1e-6
    projected = torch.min(torch.max(adv, images - 8 / 255), images + 8 / 255).clamp(0, 1)
    assert torch.allclose(adv_clip, projected, atol=1e-6)
