"""``robust-hashing`` dispatch: usage, --version, and one-line errors of the Lightning commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from robust_hashing import __version__
from robust_hashing.main import main

NUSWIDE = Path(__file__).resolve().parent / "data" / "nuswide"


def test_bare_command_prints_usage_to_stderr(capsys) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: robust-hashing")
    assert main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: robust-hashing")


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"robust-hashing {__version__}"


def _fit_config(tmp_path: Path, root: Path, model: dict | None = None) -> Path:
    """A one-epoch CPU fit of a 16-bit test_cnn on NUS-WIDE-shaped lists under ``root``."""
    config = {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "default_root_dir": str(tmp_path / "runs"),
        },
        "model": model
        or {
            "class_path": "robust_hashing.tasks.HashingTask",
            "init_args": {"backbone": "test_cnn", "bits": 16},
        },
        "data": {
            "class_path": "robust_hashing.datamodules.NusWideDataModule",
            "init_args": {"root": str(root), "resize": 16, "crop": 16},
        },
    }
    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _one_error_line(err: str, command: str = "fit") -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"robust-hashing {command}: error: ")
    return errors[0]


def test_fit_with_a_broken_dataset_is_one_line(tmp_path, monkeypatch, capsys, broken_nuswide):
    monkeypatch.chdir(tmp_path)
    config = _fit_config(tmp_path, broken_nuswide)
    assert main(["fit", f"--config={config}"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "test_label.txt:3: expected 21 label values, got 20" in line


def test_fit_with_a_missing_or_garbage_clean_checkpoint_is_one_line(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing.ckpt"
    model = {
        "class_path": "robust_hashing.defenses.NoDefense",
        "init_args": {"backbone": "test_cnn", "bits": 16, "clean_checkpoint": str(missing)},
    }
    config = _fit_config(tmp_path, NUSWIDE, model)
    assert main(["fit", "--config", str(config)]) == 1
    assert f"clean checkpoint not found: {missing}" in _one_error_line(capsys.readouterr().err)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    model["init_args"]["clean_checkpoint"] = str(garbage)
    config = _fit_config(tmp_path, NUSWIDE, model)
    assert main(["fit", "-c", str(config)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"{garbage}: cannot read the checkpoint" in line
    torch.save({"hyper_parameters": {"bits": 16}}, garbage)
    assert main(["fit", "-c", str(config)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"{garbage}: not a robust_hashing task checkpoint" in line


def test_fit_of_a_defense_without_a_clean_checkpoint_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    model = {"class_path": "robust_hashing.defenses.CgAT",
             "init_args": {"backbone": "test_cnn", "bits": 16}}  # fmt: skip
    assert main(["fit", "--config", str(_fit_config(tmp_path, NUSWIDE, model))]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "CgAT fine-tunes a clean model: give --model.init_args.clean_checkpoint" in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.ckpt"))


def test_fit_option_errors_are_one_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    config = _fit_config(tmp_path, NUSWIDE)
    assert main(["fit", "--config", str(config), "--trainer.devices", "0"]) == 2
    assert "Trainer(devices='0')" in _one_error_line(capsys.readouterr().err)
    typo = tmp_path / "typo.yaml"
    typo.write_text("model:\n  init_args:\n    lamda: 1.0\n")
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(config), "--config", str(typo)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" not in err and len(err.splitlines()) == 2
    assert "robust_hashing.tasks.HashingTask: Option 'lamda' is not accepted" in err.splitlines()[0]


def test_wandb_mode_disabled_drops_the_wandb_logger(tmp_path, monkeypatch) -> None:
    from lightning.pytorch.loggers import CSVLogger, WandbLogger

    from robust_hashing.cli import HashingCLI, default_config_path
    from robust_hashing.datamodules import HashingDataModule
    from robust_hashing.tasks import HashingTask

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["robust-hashing"])  # as run_lightning_cli does
    assert "WandbLogger" in default_config_path().read_text()  # the packaged default has one
    for mode, expected in (("disabled", [CSVLogger]), ("offline", [CSVLogger, WandbLogger])):
        monkeypatch.setenv("WANDB_MODE", mode)
        cli = HashingCLI(
            HashingTask, HashingDataModule, subclass_mode_model=True, subclass_mode_data=True,
            run=False, args=["--config", str(default_config_path()), "--trainer.max_epochs", "1"],
        )  # fmt: skip
        assert [type(x) for x in cli.trainer.loggers] == expected


def test_a_closed_pipe_ends_quietly(tmp_path) -> None:
    # `robust-hashing benchmark --dry-run | head`: the reader leaves early; no traceback
    script = tmp_path / "many_lines.py"
    script.write_text(
        "import robust_hashing.main as m\n"
        "m.main = lambda: [print('x' * 80) for _ in range(200_000)] and 0\n"
        "m.entry()\n"
    )
    shell = f"set -o pipefail; {sys.executable} {script} | head -n 1"
    run = subprocess.run(
        ["bash", "-c", shell], check=False, capture_output=True, text=True, timeout=60
    )
    assert run.stdout == "x" * 80 + "\n"
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    assert run.returncode == 141
