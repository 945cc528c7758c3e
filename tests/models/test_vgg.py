"""VGG-11 (no BN) backbone: torchvision naming, shapes, local checkpoint loading."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.models import create_hash_net, get_backbone, list_backbones

# torchvision.models.vgg11().state_dict().keys(), written out by hand
TORCHVISION_KEYS = [
    "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
    "features.6.weight", "features.6.bias", "features.8.weight", "features.8.bias",
    "features.11.weight", "features.11.bias", "features.13.weight", "features.13.bias",
    "features.16.weight", "features.16.bias", "features.18.weight", "features.18.bias",
    "classifier.0.weight", "classifier.0.bias", "classifier.3.weight", "classifier.3.bias",
    "classifier.6.weight", "classifier.6.bias",
]  # fmt: skip


def test_keys_and_shapes_match_torchvision():
    module, dim = get_backbone("vgg11")
    state = module.state_dict()
    assert set(state) == {k for k in TORCHVISION_KEYS if not k.startswith("classifier.6")}
    assert dim == 4096
    assert state["features.0.weight"].shape == (64, 3, 3, 3)
    assert state["features.18.weight"].shape == (512, 512, 3, 3)
    assert state["classifier.0.weight"].shape == (4096, 25088)
    # torchvision vgg11 has 132,863,336 parameters, 4,097,000 of them in classifier.6
    assert sum(p.numel() for p in module.parameters()) == 132_863_336 - 4_097_000
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules())
    assert "vgg11" in list_backbones()


def test_output_shape():
    module, _ = get_backbone("vgg11")
    module.eval()
    with torch.no_grad():
        out = module(torch.randn(2, 3, 32, 32))  # five 2×2 pools: 32 is the smallest input
    assert out.shape == (2, 4096)
    assert (out >= 0).all()


@pytest.mark.slow  # writes and reads a 0.5 GB checkpoint
def test_checkpoint_roundtrip(check_roundtrip):
    check_roundtrip("vgg11")


def test_missing_key_error(tmp_path):
    # a truncated checkpoint (first conv weight + ImageNet head only): the next key is named
    path = tmp_path / "partial.pth"
    state = {
        "features.0.weight": torch.zeros(64, 3, 3, 3),
        "classifier.6.weight": torch.zeros(1000, 4096),
        "classifier.6.bias": torch.zeros(1000),
    }
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"lacks 19 backbone keys.*'features\.0\.bias'"):
        create_hash_net("vgg11", 16, weights=str(path))
