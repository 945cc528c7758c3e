"""``robust-hashing fit`` ends with the final model's mAP, code length, checkpoint and time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from robust_hashing.datamodules import NusWideDataModule
from robust_hashing.main import main
from robust_hashing.metrics import mean_average_precision
from robust_hashing.tasks import encode, load_hash_net
from robust_hashing.tasks.summary import format_seconds

NUSWIDE = Path(__file__).resolve().parents[1] / "data" / "nuswide"
DATA = {"root": str(NUSWIDE), "resize": 16, "crop": 16}


def _config(tmp_path: Path, **trainer: object) -> Path:
    """Two CPU epochs of a 16-bit test_cnn, validating every 12 epochs (so never, as such)."""
    config = {
        "trainer": {
            "max_epochs": 2,
            "check_val_every_n_epoch": 12,
            "num_sanity_val_steps": 0,
            "accelerator": "cpu",
            "logger": False,
            "enable_progress_bar": False,
            "default_root_dir": str(tmp_path / "runs"),
            "callbacks": [
                {
                    "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "init_args": {"monitor": "val_map", "mode": "max", "save_last": True},
                }
            ],
            **trainer,
        },
        "model": {
            "class_path": "robust_hashing.tasks.HashingTask",
            "init_args": {"backbone": "test_cnn", "bits": 16, "top_k": 10},
        },
        "data": {"class_path": "robust_hashing.datamodules.NusWideDataModule", "init_args": DATA},
    }
    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_fit_ends_with_the_final_models_map(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--config", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("fit finished in ") :].splitlines()
    assert re.fullmatch(r"fit finished in \d+\.\d s \(2 epochs\)", summary[0])
    assert summary[1].split(None, 1) == ["model", "HashingTask, 16-bit codes, dpsh, test_cnn"]
    found = re.fullmatch(
        r"  mAP@10 +(0\.\d{4}) on (\d+) queries \(all queries; (0\.\d{4}) over queries with a "
        r"hit in k\)",
        summary[2],
    )
    assert found, summary[2]  # validated after the last epoch although the interval is 12
    last = re.fullmatch(r"  checkpoint (\S+) \(last\)", summary[3])
    assert last and Path(last.group(1)).is_file()
    # the printed figures are those of the final model, recomputed from its checkpoint
    model = load_hash_net(last.group(1))
    dm = NusWideDataModule(**DATA)
    dm.setup("fit")
    q_codes, q_labels = encode(model, dm.query_dataloader())
    d_codes, d_labels = encode(model, dm.database_dataloader())
    assert int(found.group(2)) == len(q_codes)
    for value, hit_only in ((found.group(1), False), (found.group(3), True)):
        expected = mean_average_precision(
            q_codes, d_codes, q_labels, d_labels, 10, hit_only=hit_only
        )
        assert float(value) == pytest.approx(expected, abs=5e-5)


def test_fit_without_validation_says_so(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, max_epochs=1, limit_val_batches=0, callbacks=None)
    assert main(["fit", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "  mAP@10     not measured (validation is off or found no batch)" in out
    # Lightning's default checkpoint (no validation: saved at the epoch's end) is named
    saved = re.search(r"  checkpoint (\S+\.ckpt) \(latest\)", out)
    assert saved and (tmp_path / saved.group(1)).is_file()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(8.24, "8.2 s"), (59.9, "59.9 s"), (161, "2 min 41 s"), (3600 + 5 * 60 + 2, "1 h 05 min")],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text
