"""Non-finite values stop the work; a clean mAP at chance level is warned about."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from robust_hashing import datamodules
from robust_hashing.attacks import cli as attack_cli
from robust_hashing.main import main
from robust_hashing.tasks import HashingTask, encode, encode_direct, guards
from robust_hashing.tasks.guards import (
    DEFAULT_CHECK_EVERY,
    NonFiniteError,
    TrainingGuard,
    chance_level,
    chance_warning,
)
from robust_hashing.tasks.weights import non_finite
from tests.attacks.test_cli import FakeDataModule
from tests.conftest import TinyHashingDataset
from tests.defenses.tiny_data import TinyDataModule, build
from tests.devices import quiet_trainer
from tests.test_main import NUSWIDE, _one_error_line


# -- training -------------------------------------------------------------------------------
def _diverging_config(tmp_path: Path) -> Path:
    """Four CPU epochs of a test_cnn with lr 1e30, saving a checkpoint per epoch and last."""
    config = {
        "trainer": {
            "max_epochs": 4,
            "accelerator": "cpu",
            "logger": False,
            "enable_progress_bar": False,
            "default_root_dir": str(tmp_path / "runs"),
            "callbacks": [
                {
                    "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "init_args": {"save_last": True, "save_top_k": -1},
                }
            ],
        },
        "model": {
            "class_path": "robust_hashing.tasks.HashingTask",
            "init_args": {"backbone": "test_cnn", "bits": 16, "lr": 1.0e30},
        },
        "data": {
            "class_path": "robust_hashing.datamodules.NusWideDataModule",
            "init_args": {"root": str(NUSWIDE), "resize": 16, "crop": 16},
        },
    }
    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_fit_with_a_diverging_lr_stops_in_one_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--config", str(_diverging_config(tmp_path))]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "training stopped at step 1 (epoch 1): the loss is nan with lr=1e+30" in line
    written = sorted((tmp_path / "runs").rglob("*.ckpt"))
    last = tmp_path / "runs" / "checkpoints" / "last.ckpt"
    assert last in written and f"the last checkpoint, {last}, is kept" in line
    for path in written:  # every checkpoint left behind is finite (and loads weights-only)
        assert non_finite(torch.load(path, weights_only=True)["state_dict"]) == [], path


def _guarded(task: HashingTask, check_every: int) -> HashingTask:
    """``task`` with a guard checking the weights every ``check_every`` steps."""
    task.configure_callbacks = lambda: [TrainingGuard(check_every=check_every)]  # type: ignore[method-assign]
    return task


@pytest.mark.parametrize(
    ("check_every", "why"), [(1, "non-finite weights"), (DEFAULT_CHECK_EVERY, "the loss is nan")]
)
def test_weights_made_non_finite_by_a_step_stop_training(check_every, why) -> None:
    task = build(HashingTask, lr=float("inf"), weight_decay=0.0, momentum=0.0)
    trainer = quiet_trainer(max_steps=3, limit_val_batches=0)
    with pytest.raises(NonFiniteError, match=rf"training stopped at step 1 .*{why}"):
        trainer.fit(_guarded(task, check_every), datamodule=TinyDataModule())
    assert trainer.global_step == 1


def test_weights_are_checked_every_n_steps_and_at_each_epoch_end(monkeypatch) -> None:
    checked: list[int] = []
    check = guards.check_finite_weights

    def spy(trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        checked.append(trainer.global_step)
        check(trainer, pl_module)

    monkeypatch.setattr(guards, "check_finite_weights", spy)
    trainer = quiet_trainer(max_epochs=3)  # 4 steps an epoch, no validation
    trainer.fit(_guarded(build(HashingTask), 5), datamodule=TinyDataModule())
    assert trainer.global_step == 12 and checked == [4, 5, 8, 10, 12]
    with pytest.raises(ValueError, match="check_every"):
        TrainingGuard(check_every=0)


class _PoisonAtEpochEnd(L.Callback):
    """Makes a weight NaN after the last optimiser step of the first epoch."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        if trainer.current_epoch == 0 and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            with torch.no_grad():
                pl_module.model.hash_layer.bias[0] = float("nan")


# where ModelCheckpoint saves: at the epoch end without validation; at the epoch end after
# a validation run each epoch; at the end of a validation run every 3 steps
SAVED_AT = {
    "epoch_end": {"limit_val_batches": 0},
    "epoch_end_after_validation": {},
    "validation_end": {"check_val_every_n_epoch": None, "val_check_interval": 3},
}


@pytest.mark.parametrize("saved_at", sorted(SAVED_AT))
def test_weights_made_non_finite_between_checks_never_reach_a_checkpoint(
    tmp_path, saved_at
) -> None:
    loader = DataLoader(TinyHashingDataset(24), batch_size=8)  # 3 steps an epoch
    monitor = {} if saved_at == "epoch_end" else {"monitor": "val_map", "mode": "max"}
    saver = ModelCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=-1, **monitor)
    trainer = quiet_trainer(
        max_epochs=2,
        enable_checkpointing=True,
        callbacks=[_PoisonAtEpochEnd(), saver],
        num_sanity_val_steps=0,
        **SAVED_AT[saved_at],
    )
    task = HashingTask(backbone="test_cnn", bits=16, num_train=24, num_classes=4)
    with pytest.raises(
        NonFiniteError,
        match=r"step 3 \(epoch 0\): non-finite weights \('model\.hash_layer\.bias'\)"
        r".*; no checkpoint was written",
    ):
        trainer.fit(task, train_dataloaders=loader, val_dataloaders=[loader, loader])
    assert list(tmp_path.rglob("*.ckpt")) == []


def test_a_checkpoint_of_non_finite_weights_is_never_written(tmp_path) -> None:
    task = build(HashingTask)
    trainer = quiet_trainer(max_steps=1, limit_val_batches=0)
    trainer.fit(task, datamodule=TinyDataModule())
    with torch.no_grad():
        task.model.hash_layer.bias.fill_(float("nan"))
    with pytest.raises(NonFiniteError, match=r"'model\.hash_layer\.bias'"):
        trainer.save_checkpoint(tmp_path / "nan.ckpt")
    assert not (tmp_path / "nan.ckpt").exists()


# -- encoding -------------------------------------------------------------------------------
def test_encoding_refuses_nan_outputs(tiny_loader) -> None:
    task = build(HashingTask)
    model = task.model
    codes, _ = encode_direct(model, tiny_loader)
    assert set(codes.unique().tolist()) <= {-1.0, 1.0}
    with torch.no_grad():
        model.hash_layer.weight[0, 0] = float("nan")  # one bit of every image
    with pytest.raises(
        NonFiniteError, match=r"encoding: .* NaN or infinite outputs for 8 of 8 images"
    ):
        encode_direct(model, tiny_loader)
    with pytest.raises(NonFiniteError, match=r"encoding: .* for 8 of 8 images"):
        encode(model, tiny_loader, quiet_trainer())


# -- chance level ---------------------------------------------------------------------------
def test_chance_level_is_the_mean_share_of_relevant_items() -> None:
    g = torch.Generator().manual_seed(0)
    q = (torch.rand(30, 5, generator=g) < 0.3).float()
    d = (torch.rand(200, 5, generator=g) < 0.3).float()
    relevant = (q.numpy() @ d.numpy().T) > 0  # independent: every pair, in numpy
    assert chance_level(q, d) == pytest.approx(float(np.mean(relevant.mean(axis=1))))
    # random rankings of that database average to it
    from robust_hashing.metrics import mean_average_precision

    maps = []
    for seed in range(40):
        codes = torch.sign(torch.randn(230, 32, generator=torch.Generator().manual_seed(seed)))
        maps.append(mean_average_precision(codes[:30], codes[30:], q, d, top_k=None))
    assert float(np.mean(maps)) == pytest.approx(chance_level(q, d), abs=0.03)


def test_chance_warning_threshold() -> None:
    assert chance_warning(0.72, 0.72) is not None
    assert chance_warning(0.72 + 0.04 * 0.28, 0.72) is not None
    assert chance_warning(0.72 + 0.06 * 0.28, 0.72) is None
    assert chance_warning(float("nan"), 0.5) is None


def test_fit_warns_when_validation_map_is_at_chance() -> None:
    data = TinyHashingDataset(24)
    data.labels[:] = 0.0
    data.labels[:, 0] = 1.0  # every item relevant to every query: chance level is 1
    loader = DataLoader(data, batch_size=8)
    task = HashingTask(backbone="test_cnn", bits=16, num_train=24, num_classes=4)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0)
    with pytest.warns(UserWarning, match=r"validation clean mAP 1\.0000 is at chance level"):
        trainer.fit(task, train_dataloaders=loader, val_dataloaders=[loader, loader])


class _OneClassData(FakeDataModule):
    """The fake attack data with one label for everything: any ranking is at chance."""

    def __init__(self) -> None:
        super().__init__()
        for split in self.splits.values():
            split.labels[:] = 0.0
            split.labels[:, 0] = 1.0


def test_attack_command_warns_on_a_clean_map_at_chance(tmp_path, monkeypatch, capsys) -> None:
    from robust_hashing.models import create_hash_net

    net = create_hash_net("test_cnn", 16)
    ckpt = tmp_path / "toy.ckpt"
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"bits": 16, "backbone": "test_cnn"}, "state_dict": state}, ckpt
    )
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: _OneClassData())
    out = tmp_path / "report.json"
    argv = ["--checkpoint", str(ckpt), "--attack", "hag", "--quick", "--hp", "steps=1"]
    argv += ["--max-queries", "2", "--accelerator", "cpu", "--out", str(out)]
    assert attack_cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "robust-hashing attack: warning: the model's clean mAP 1.0000 is at chance level" in err
    assert json.loads(out.read_text())["clean_map"] == pytest.approx(1.0)
