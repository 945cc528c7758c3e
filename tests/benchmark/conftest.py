"""Fixtures of the runner tests: a fake catalog of defenses/attacks and a tiny grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from robust_hashing.benchmark.grid import Grid, parse_grid
from robust_hashing.benchmark.runner import RunOptions

FAKE_STEPS = str(Path(__file__).with_name("fake_steps.py"))


def _defense(name: str, quick: dict[str, Any] | None = None) -> type:
    return type(name, (), {"quick": quick or {}})


def _attack(name: str, modes: tuple[str, ...], quick: dict[str, Any] | None = None) -> type:
    return type(name, (), {"supported_modes": modes, "quick": quick or {}})


class FakeCatalog:
    """Stands in for the defense and attack registries."""

    DEFENSES: ClassVar[dict[str, type]] = {
        "none": _defense("none"),
        "good": _defense("good", {"max_epochs": 1}),
        "better": _defense("better"),
        "broken": _defense("broken"),
        "cgat": _defense("cgat"),
    }
    ATTACKS: ClassVar[dict[str, type]] = {
        "weak": _attack("weak", ("untargeted",), {"steps": 3}),
        "strong": _attack("strong", ("untargeted", "targeted")),
        "tgt": _attack("tgt", ("targeted",)),
        "boom": _attack("boom", ("untargeted",)),
        "oom": _attack("oom", ("untargeted",)),
    }

    def defenses(self) -> list[str]:
        return sorted(self.DEFENSES)

    def attacks(self) -> list[str]:
        return sorted(self.ATTACKS)

    def defense_class(self, name: str) -> Any:
        return self.DEFENSES[name]

    def attack_class(self, name: str) -> Any:
        return self.ATTACKS[name]

    def loss_class(self, name: str) -> Any:
        from robust_hashing.benchmark.catalog import RegistryCatalog

        return RegistryCatalog().loss_class(name)  # the real losses (csq skips 48 bits)

    def datasets(self) -> list[str]:
        return ["fake"]

    def methods(self) -> list[str]:
        from robust_hashing.benchmark.catalog import RegistryCatalog

        return RegistryCatalog().methods()

    def backbones(self) -> list[str]:
        from robust_hashing.benchmark.catalog import RegistryCatalog

        return RegistryCatalog().backbones()


def make_grid(**overrides: Any) -> Grid:
    data: dict[str, Any] = {
        "name": "tiny",
        "profile": "quick",
        "datasets": [{"name": "fake", "kwargs": {"n": 1}}],
        "bits": [16],
        "victim": {"method": "dpsh", "backbone": "test_cnn"},
        "trainer": {"clean_epochs": 1},
        "defenses": ["none", "good", "better"],
        "attacks": ["weak", "strong", {"name": "tgt", "mode": "targeted"}],
    }
    data.update(overrides)
    return parse_grid(data, "tiny.yaml")


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def options(tmp_path: Path) -> RunOptions:
    return RunOptions(
        cache_dir=tmp_path / "cache",
        leaderboard_dir=tmp_path / "leaderboard",
        steps=FAKE_STEPS,
        entry_points=False,
        poll_seconds=0.05,
    )
