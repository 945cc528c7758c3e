"""``robust-hashing`` dispatch: usage, --version, and one-line errors of the Lightning commands."""

from __future__ import annotations

from pathlib import Path

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
