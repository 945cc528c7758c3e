"""DefenseTask: clean-checkpoint loading, bank initialisation, inner attack, DDP banks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

from robust_hashing.defenses import CgAT, NoDefense, get_defense, list_defenses
from robust_hashing.defenses.base import gather_rows, last_occurrences
from robust_hashing.ops import sign
from robust_hashing.tasks import HashingTask
from tests.defenses.tiny_data import BITS, NUM_CLASSES, NUM_TRAIN, TinyDataModule, build, fit
from tests.devices import quiet_trainer

ROOT = Path(__file__).resolve().parents[2]


def _clean_checkpoint(tmp_path: Path, bits: int = BITS) -> tuple[Path, HashingTask]:
    L.seed_everything(0, verbose=False)
    clean = HashingTask(
        backbone="test_cnn", bits=bits, num_train=NUM_TRAIN, num_classes=NUM_CLASSES
    )
    trainer = quiet_trainer(max_steps=2, limit_val_batches=0)
    trainer.fit(clean, datamodule=TinyDataModule())
    path = tmp_path / "clean.ckpt"
    trainer.save_checkpoint(path)
    return path, clean


def test_clean_checkpoint_weights_are_loaded(tmp_path: Path) -> None:
    path, clean = _clean_checkpoint(tmp_path)
    task = build(CgAT, seed=123, clean_checkpoint=str(path))
    ref = clean.model.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in task.model.state_dict().items())
    assert task.hparams.clean_checkpoint == str(path)


def test_clean_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        build(CgAT, clean_checkpoint=str(tmp_path / "missing.ckpt"))
    path, _ = _clean_checkpoint(tmp_path, bits=8)
    with pytest.raises(ValueError, match=f"codes have 8 bits, this task's {BITS}"):
        build(CgAT, clean_checkpoint=str(path))
    path, _ = _clean_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"trained with loss 'dpsh', this task uses 'dph'"):
        build(CgAT, clean_checkpoint=str(path), loss="dph")
    with pytest.raises(ValueError, match=rf"trained on {NUM_CLASSES} classes, this task's data"):
        build(CgAT, clean_checkpoint=str(path), num_classes=38)


def test_banks_start_from_the_clean_model(tmp_path: Path) -> None:
    path, clean = _clean_checkpoint(tmp_path)
    task = build(NoDefense, clean_checkpoint=str(path))
    trainer = fit(task, max_steps=1)
    assert trainer.global_step == 1
    images = TinyDataModule().train.images
    clean.model.eval()
    with torch.no_grad():
        z, h = clean.model(images)
    # One step changed the weights, so compare only rows the step did not visit.
    seen = (task.B != sign(z)).any(1) | (task.hash_loss.U - h).abs().gt(1e-6).any(1)
    assert (~seen).sum() >= NUM_TRAIN - 8
    assert torch.equal(task.B[~seen], sign(z)[~seen])


def test_saat_u_starts_as_the_sign_bank() -> None:
    task = build(get_defense("saat"))
    fit(task, max_steps=1)
    unvisited = (task.hash_loss.U.abs() == 1).all(1)
    assert unvisited.sum() >= NUM_TRAIN - 8
    assert torch.equal(task.hash_loss.U[unvisited], task.B[unvisited])


def test_zero_label_rows_get_no_guide_code() -> None:
    task = build(CgAT)
    task.Y.copy_(TinyDataModule().train.labels)
    y = task.Y[:4]
    codes = task.guide_codes(y)
    assert codes[:2].abs().sum() == 0 and (codes[2:].abs() == 1).all()


def test_inner_pgd_budget_and_batchnorm_mode() -> None:
    task = build(CgAT, backbone="small_cnn")
    task.train()
    x = TinyDataModule().train.images[:4]
    stats = {k: v.clone() for k, v in task.model.state_dict().items() if "running" in k}
    xa = task.inner_pgd(x, lambda h: h.mean())
    assert (xa - x).abs().max() <= 8 / 255 + 1e-6
    assert xa.min() >= 0 and xa.max() <= 1 and not torch.equal(xa, x)
    assert all(torch.equal(v, task.model.state_dict()[k]) for k, v in stats.items())
    assert all(m.training for m in task.model.modules())
    assert all(p.grad is None for p in task.parameters())


def test_gather_rows_without_ddp_is_identity() -> None:
    a, b = torch.randn(3, 2), torch.arange(3)
    ga, gb = gather_rows(a, b)
    assert ga is a and gb is b


def test_repeated_rows_are_written_once_with_their_last_occurrence() -> None:
    assert last_occurrences(torch.tensor([0, 2, 1])) is None
    assert last_occurrences(torch.tensor([3, 1, 3, 3, 2])).tolist() == [
        False, True, False, True, True,
    ]  # fmt: skip
    task = build(CgAT)
    u = torch.tensor([[0.5] * BITS, [-0.25] * BITS, [-0.5] * BITS])
    labels = torch.eye(NUM_CLASSES)[:3]
    task.update_banks(u, labels, torch.tensor([4, 7, 4]))
    assert (task.B[4] == -1).all() and (task.B[7] == -1).all()
    assert torch.equal(task.hash_loss.U[4], u[2]) and torch.equal(task.Y[4], labels[2])


@pytest.mark.slow
@pytest.mark.parametrize("name", list_defenses())
def test_ddp_banks_consistent_across_ranks(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests/defenses/ddp_script.py"), name, str(tmp_path)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for key in ("B", "Y", "U", "w"):
        assert torch.equal(r0[key], r1[key]), key
    assert set(r0["B"].unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(r0["Y"], TinyDataModule().train.labels)
