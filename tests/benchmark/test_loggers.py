"""Cell loggers: CSV always, wandb offline by default, adversarial examples as one image."""

from pathlib import Path

import torch
from lightning.pytorch.loggers import CSVLogger, WandbLogger

from robust_hashing.benchmark.cell_types import (
    AttackConfig,
    AttackInfo,
    Cell,
    DefenseInfo,
    Victim,
)
from robust_hashing.benchmark.loggers import (
    cell_loggers,
    finish,
    image_grid,
    log_examples,
    sync_hint,
)
from robust_hashing.benchmark.spec import CellSpec, Runtime


def _spec(tmp_path: Path) -> CellSpec:
    victim = Victim("embedded", {}, "embedded-0", "dpsh", "test_cnn", 32)
    cell = Cell(
        "0123456789abcdef", tmp_path / "cell", victim, AttackConfig({}, None, None, "code"),
        DefenseInfo("none", None, {}), AttackInfo("hag", "untargeted", {}, True),
    )  # fmt: skip
    runtime = Runtime(0, "cpu", 1, None, (), False, None, tmp_path / "root", "robust_hashing", None)
    return CellSpec(cell, {}, runtime)


def test_image_grid_stacks_batches_as_rows() -> None:
    clean, adv = torch.zeros(3, 3, 4, 5), torch.ones(3, 3, 4, 5) * 2
    grid = image_grid([clean, adv])
    assert grid.shape == (3, 8, 15)
    assert grid[:, :4].max() == 0 and grid[:, 4:].min() == 1  # clamped to [0, 1]


def test_disabled_wandb_leaves_the_csv_logger(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    loggers = cell_loggers(_spec(tmp_path))
    assert [type(lg) for lg in loggers] == [CSVLogger]
    assert sync_hint(tmp_path / "root" / "wandb") is None


def test_offline_run_holds_the_example_image(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    loggers = cell_loggers(_spec(tmp_path))
    assert [type(lg) for lg in loggers] == [CSVLogger, WandbLogger]
    clean = torch.rand(4, 3, 8, 8)
    log_examples(loggers, clean, (clean + 4 / 255).clamp(0, 1))
    finish(loggers)
    runs = list((tmp_path / "root" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    assert list(runs[0].rglob("adversarial_examples*.png")), "no example image in the run"
    hint = sync_hint(tmp_path / "root" / "wandb")
    assert hint is not None and hint.startswith("wandb sync ")
