from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SPLIT_SIZES = {"train": 10, "test": 4, "database": 14}


def write_list_dataset(root: Path, num_classes: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Tiny seeded dataset in both list formats; images of varying size (≥ 40 px)."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in SPLIT_SIZES.items():
        labels = (rng.random((n, num_classes)) < 0.5).astype(int)
        paths = []
        for i in range(n):
            h, w = rng.integers(40, 60, size=2)
            path = f"img/{split}_{i}.png"
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / path)
            paths.append(path)
        rows = [" ".join(map(str, r)) for r in labels]
        (root / f"{split}_img.txt").write_text("\n".join(paths) + "\n")
        (root / f"{split}_label.txt").write_text("\n".join(rows) + "\n")
        lines = [f"{p} {r}" for p, r in zip(paths, rows, strict=True)]
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
        out[split] = labels
    return out


@pytest.fixture
def list_dataset(tmp_path: Path) -> Callable[..., dict[str, np.ndarray]]:
    def make(num_classes: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
        return write_list_dataset(tmp_path, num_classes, seed)

    return make
