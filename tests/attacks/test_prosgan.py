"""ProS-GAN: networks, unbounded vs clipped output, training needs images, caching."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.utils.data import DataLoader

from robust_hashing.attacks import get_attack
from robust_hashing.attacks.prosgan_nets import Discriminator, Generator, LabelPrototypeNet
from tests.devices import DEVICES

from .conftest import CLASSES, ToyDataset, tiny_hp


def _out_channels(module: nn.Module, kind: type[nn.Module] = nn.Conv2d) -> list[int]:
    return [m.out_channels for m in module.modules() if isinstance(m, kind)]


def _res_blocks(module: nn.Module) -> list[int]:
    """Widths of the residual blocks directly inside ``module``."""
    return [m.body[0].out_channels for m in module.children() if type(m).__name__ == "_ResBlock"]


def test_networks_shapes() -> None:
    proto = LabelPrototypeNet(4, 16, hidden=32, feature=8)
    f, p, y_hat = proto(torch.eye(4))
    assert f.shape == (4, 8) and p.shape == (4, 16) and y_hat.shape == (4, 4)
    gen = Generator(feature=8, ch=4, enc_blocks=1, dec_blocks=1)
    for size in (16, 18):  # odd multiples of 4 too
        x = torch.rand(4, 3, size, size)
        out = gen(x, f)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    for size in (16, 18, 64):  # below and above 2^layers pixels
        assert Discriminator(4, size, ch=4)(torch.rand(2, 3, size, size)).shape == (2, 5)
    with pytest.raises(ValueError, match="image size"):
        Discriminator(4, 16, ch=4)(torch.rand(2, 3, 64, 64))


def test_label_conditions_the_image_interior() -> None:
    # a tiled constant label map alone is (nearly) cancelled by the stem's InstanceNorm away
    # from the borders; the post-norm shift makes the interior depend on the label
    torch.manual_seed(0)
    gen = Generator(feature=8, ch=4, enc_blocks=1, dec_blocks=1)
    x = torch.rand(1, 3, 64, 64).expand(2, -1, -1, -1) * 2 - 1
    f = torch.randn(2, 8)
    tiled = gen.label(f)[:, :, None, None].expand(-1, -1, 64, 64)
    normed = gen.stem(torch.cat([x, tiled], 1))
    shifted = normed + gen.label_shift(f)[:, :, None, None]
    inner = (slice(None), slice(8, 56), slice(8, 56))
    without = (normed[0][inner] - normed[1][inner]).abs().mean()
    with_shift = (shifted[0][inner] - shifted[1][inner]).abs().mean()
    assert with_shift > 2 * without


def test_default_widths_are_official(model, context) -> None:
    attack = get_attack("prosgan", model, context)
    gen = attack.gen
    assert _out_channels(gen.stem) + _out_channels(gen.encoder)[:2] == [64, 128, 256]
    assert _res_blocks(gen.encoder) == [256] * 3 and _res_blocks(gen.decoder) == [256] * 3
    assert _out_channels(gen.decoder, nn.ConvTranspose2d) == [128, 64]
    disc = attack.discriminator(224)
    assert _out_channels(disc.features) == [64, 128, 256, 512, 1024]
    slopes = {m.negative_slope for m in disc.features if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.01}
    assert disc.head.kernel_size == (7, 7) and disc.head.out_channels == CLASSES + 1
    assert disc.head.bias is None
    linears = [(m.in_features, m.out_features) for m in attack.proto.body if type(m) is nn.Linear]
    assert linears == [(CLASSES, 4096), (4096, 512)]


def test_quick_widths_are_compact(model, context) -> None:
    attack = get_attack("prosgan", model, context, quick=True)
    assert _out_channels(attack.gen.stem) + _out_channels(attack.gen.encoder)[:2] == [32, 64, 128]
    assert _res_blocks(attack.gen.encoder) == [128] and _res_blocks(attack.gen.decoder) == [128]
    disc = attack.discriminator(16)
    assert _out_channels(disc.features) == [32, 64, 128] and disc.head.kernel_size == (2, 2)


@pytest.mark.parametrize("device", DEVICES)
def test_discriminator_spectral_norm(device) -> None:
    torch.manual_seed(0)
    disc = Discriminator(CLASSES, 16, ch=4, layers=3).to(device)
    convs = [m for m in disc.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and all(parametrize.is_parametrized(c, "weight") for c in convs)
    for _ in range(30):  # power iterations run on training-mode forwards
        disc(torch.rand(2, 3, 16, 16, device=device))
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("quick", [False, True])
def test_label_prototype_features_can_be_negative(model, context, quick) -> None:
    torch.manual_seed(0)
    proto = get_attack("prosgan", model, context, quick=quick).proto
    assert isinstance(proto.body[-1], nn.Linear)  # no ReLU on f_t, as the official code
    f, _, _ = proto(torch.eye(CLASSES))
    assert (f < 0).any() and (f > 0).any()


def _stage2_batches(model, context, **hp) -> list[torch.Tensor]:
    """Images the generator sees while ``prosgan`` trains (stage 2)."""
    attack = get_attack("prosgan", model, context, **{**tiny_hp("prosgan"), **hp})
    seen: list[torch.Tensor] = []
    attack.gen.register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    attack.prepare()
    return seen


def test_stage2_draws_own_seeded_batches(model, context) -> None:
    assert context.train_loader.batch_size == 8
    seen = _stage2_batches(model, context)
    assert [len(x) for x in seen] == [24, 24]  # gan_batches = 2 batches of 24, not 8
    rows = context.train_loader.dataset.images.flatten(1)
    drawn = torch.cat(seen).flatten(1)
    assert ((drawn[:, None] - rows[None]).abs().amax(-1) == 0).sum(1).eq(1).all()  # same images
    again = _stage2_batches(model, context)
    assert all(torch.equal(a, b) for a, b in zip(seen, again, strict=True))  # seeded
    other = _stage2_batches(model, context, seed=1)
    assert not torch.equal(torch.cat(seen), torch.cat(other))
    assert [len(x) for x in _stage2_batches(model, context, batch_size=5)] == [5, 5]


def test_stage2_needs_a_dataloader(model, context) -> None:
    context.train_loader = list(DataLoader(ToyDataset(8), batch_size=4))
    with pytest.raises(TypeError, match="DataLoader"):
        get_attack("prosgan", model, context, **tiny_hp("prosgan")).prepare()


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
