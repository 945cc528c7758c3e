from __future__ import annotations

import pytest

from tests.defenses.tiny_data import TinyDataModule


@pytest.fixture
def tiny_dm() -> TinyDataModule:
    return TinyDataModule()
