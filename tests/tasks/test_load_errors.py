"""A checkpoint whose weights do not fit says what differs (backbone, bits, classes, keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from robust_hashing.models import create_hash_net
from robust_hashing.tasks import CheckpointError, load_hash_net
from robust_hashing.tasks.checkpoint import check_same_victim, read_checkpoint


def _save(tmp_path: Path, state: dict[str, torch.Tensor], **hp: Any) -> Path:
    """A task checkpoint of ``state`` (hash-net keys) with hyper-parameters ``hp``."""
    path = tmp_path / "model.ckpt"
    torch.save(
        {"hyper_parameters": {"backbone": "test_cnn", "bits": 16, **hp},
         "state_dict": {f"model.{k}": v for k, v in state.items()}},
        path,
    )  # fmt: skip
    return path


def _net_state(backbone: str = "test_cnn", bits: int = 16) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return create_hash_net(backbone, bits).state_dict()


def _one_line(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_hash_net(path)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and text.startswith(f"{path}: ")
    return text


def test_a_fitting_checkpoint_loads(tmp_path) -> None:
    state = _net_state()
    net = load_hash_net(_save(tmp_path, state))
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())


def test_another_code_length_is_named(tmp_path) -> None:
    text = _one_line(_save(tmp_path, _net_state(bits=16), bits=32))
    assert "the stored codes have 16 bits, this model 32" in text


def test_another_backbone_is_named_with_keys(tmp_path) -> None:
    small = set(_net_state("small_cnn"))
    test = set(_net_state("test_cnn"))
    assert small != test  # two backbones with other layers
    text = _one_line(_save(tmp_path, _net_state("test_cnn"), backbone="small_cnn"))
    assert "another backbone than this model's 'small_cnn'" in text
    first_missing = next(k for k in _net_state("small_cnn") if k not in test)
    assert f"missing keys {first_missing!r}" in text


def test_missing_and_unexpected_keys_name_the_first_few(tmp_path) -> None:
    state = _net_state()
    keys = list(state)
    missing = {k: v for k, v in state.items() if k != keys[-1]}
    assert f"missing keys {keys[-1]!r}" in _one_line(_save(tmp_path, missing))
    extra = {**state, **{f"extra.{i}": torch.zeros(1) for i in range(5)}}
    text = _one_line(_save(tmp_path, extra))
    assert "unexpected keys 'extra.0', 'extra.1', 'extra.2' (+2 more)" in text


def test_non_finite_weights_are_refused(tmp_path) -> None:
    state = _net_state()
    state["hash_layer.bias"] = torch.full_like(state["hash_layer.bias"], float("nan"))
    text = _one_line(_save(tmp_path, state))
    assert f"1 of {len(state)} weight tensors hold NaN or infinite values" in text
    assert "'hash_layer.bias'" in text and "diverged" in text


def test_another_class_count_is_named_from_the_label_bank(tmp_path) -> None:
    path = tmp_path / "task.ckpt"
    torch.save(
        {"hyper_parameters": {"bits": 16}, "state_dict": {"hash_loss.Y": torch.zeros(10, 21)}},
        path,
    )
    ckpt = read_checkpoint(path)
    with pytest.raises(CheckpointError, match="trained on 21 classes, this task's data has 38"):
        check_same_victim(ckpt, {"num_classes": 38, "bits": 16}, path)
    with pytest.raises(CheckpointError, match="backbone is 'test_cnn', this task's 'resnet18'"):
        check_same_victim(
            {"hyper_parameters": {"backbone": "test_cnn"}}, {"backbone": "resnet18"}, path
        )
    check_same_victim(ckpt, {"num_classes": 21, "bits": 16}, path)  # the same victim
