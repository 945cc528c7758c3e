from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# Where make_record()'s cells live under results/: dataset, bits, victim, profile, mAP
# depth and query count (neither stated), threat model.
CELL_DIR = Path("embedded", "32bit", "dpsh-small_cnn", "quick", "topall-unknownq", "linf-8_255")


def make_record(defense: str = "cgat", attack: str = "hag", mode: str = "untargeted",
                figure: float = 0.4, **kw: Any) -> dict[str, Any]:  # fmt: skip
    """A valid protocol-v2 cell record (no per-query data unless given in ``kw``)."""
    data: dict[str, Any] = {
        "dataset": "embedded", "bits": 32, "backbone": "small_cnn", "method": "dpsh",
        "defense": defense, "attack": attack, "mode": mode, "profile": "quick",
        "clean_map": 0.8, "adv_map": figure if mode == "untargeted" else 0.5,
        "clean_tmap": None if mode == "untargeted" else 0.1,
        "adv_tmap": None if mode == "untargeted" else figure,
        "asr": 0.3, "linf": 0.0314, "l2": 1.2, "rmse": 0.01, "theory": 0.05,
        "threat": {"norm": "linf", "eps": 8 / 255}, "attack_hp": {"steps": 5},
        "defense_hp": {"name": defense},
        "provenance": {
            "config_hash": "abc", "code_commit": "deadbeef", "seed": 0, "python": "3.11",
            "torch": "2.13", "lightning": "2.6", "device": "cpu", "seconds": 1.0,
            "source": "measured",
        },
    }  # fmt: skip
    data.update(kw)
    return data


@pytest.fixture
def record() -> dict[str, Any]:
    return make_record()
