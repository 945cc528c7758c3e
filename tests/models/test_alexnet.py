"""AlexNet backbone: torchvision naming, shapes, local checkpoint loading."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.models import create_hash_net, get_backbone, list_backbones

# torchvision.models.alexnet().state_dict().keys(), written out by hand
TORCHVISION_KEYS = [
    "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
    "features.6.weight", "features.6.bias", "features.8.weight", "features.8.bias",
    "features.10.weight", "features.10.bias", "classifier.1.weight", "classifier.1.bias",
    "classifier.4.weight", "classifier.4.bias", "classifier.6.weight", "classifier.6.bias",
]  # fmt: skip


def test_keys_and_shapes_match_torchvision():
    module, dim = get_backbone("alexnet")
    state = module.state_dict()
    assert set(state) == {k for k in TORCHVISION_KEYS if not k.startswith("classifier.6")}
    assert dim == 4096
    assert state["features.0.weight"].shape == (64, 3, 11, 11)
    assert state["features.3.weight"].shape == (192, 64, 5, 5)
    assert state["classifier.1.weight"].shape == (4096, 9216)
    # torchvision alexnet has 61,100,840 parameters, 4,097,000 of them in classifier.6
    assert sum(p.numel() for p in module.parameters()) == 61_100_840 - 4_097_000
    assert "alexnet" in list_backbones()


def test_output_shape():
    module, _ = get_backbone("alexnet")
    module.eval()
    with torch.no_grad():
        assert module(torch.randn(1, 3, 127, 127)).shape == (1, 4096)
        out = module(torch.randn(2, 3, 64, 64))  # the adaptive pool accepts small inputs
    assert out.shape == (2, 4096)
    assert (out >= 0).all()  # ends with ReLU
    net = create_hash_net("alexnet", 16).eval()
    z, h = net(torch.rand(2, 3, 64, 64))
    assert z.shape == h.shape == (2, 16)


def test_checkpoint_roundtrip(check_roundtrip):
    check_roundtrip("alexnet")


def test_missing_key_error(tmp_path):
    # a truncated checkpoint (first conv weight only): the error names the next key
    path = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 11, 11)}, path)
    with pytest.raises(ValueError, match=r"lacks 13 backbone keys.*'features\.0\.bias'"):
        create_hash_net("alexnet", 16, weights=str(path))
