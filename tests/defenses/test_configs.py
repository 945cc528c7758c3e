"""Each YAML in benchmark/configs/defenses parses (model part always; full CLI when ready)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from jsonargparse import ArgumentParser

from robust_hashing.defenses import DefenseTask, get_defense

CONFIGS = sorted(
    (Path(__file__).resolve().parents[2] / "benchmark/configs/defenses").glob("*.yaml")
)


def test_one_config_per_defense() -> None:
    assert {p.stem for p in CONFIGS} >= {"none", "atrdh", "cgat", "saat", "colo_tride"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_model_section_instantiates(path: Path) -> None:
    model = yaml.safe_load(path.read_text())["model"]
    model["init_args"].update(num_train=32, num_classes=5)
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(DefenseTask, "model")
    cfg = parser.parse_object({"model": model})
    # jsonargparse 4.49 renamed instantiate_classes to instantiate; the floor (4.27) has only the old name
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    task = instantiate(cfg).model
    assert isinstance(task, get_defense(path.stem))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_parses_through_the_cli(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        dm = importlib.import_module("robust_hashing.datamodules")
        dm.EmbeddedDataModule  # noqa: B018
        from robust_hashing.cli import run_lightning_cli
    except (ImportError, AttributeError) as err:
        pytest.skip(f"robust_hashing.datamodules.EmbeddedDataModule not available yet: {err}")
    with pytest.raises(SystemExit) as exc:
        run_lightning_cli(["fit", "--config", str(path), "--print_config"])
    assert exc.value.code in (0, None)
    assert get_defense(path.stem).__name__ in capsys.readouterr().out
