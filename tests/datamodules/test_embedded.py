from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from robust_hashing.datamodules import EmbeddedDataModule
from robust_hashing.datasets.embedded import build_embedded, default_root

SIZES = (12, 16, 24)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_embedded(tmp_path_factory.mktemp("dm") / "emb", seed=0, sizes=SIZES)


def test_known_at_init_and_native_batches(root: Path) -> None:
    dm = EmbeddedDataModule(root=str(root), batch_size=8, eval_batch_size=10)
    assert dm.num_classes == 10 and dm.num_train == 16
    dm.prepare_data()
    dm.setup("fit")
    x, y, idx = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 3, 64, 64) and y.shape == (8, 10)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert ((y.sum(1) >= 1) & (y.sum(1) <= 3)).all()
    assert torch.equal(y, dm.labels("train")[idx])
    q = torch.cat([b[2] for b in dm.query_dataloader()])
    assert torch.equal(q, torch.arange(12))
    assert len(next(iter(dm.database_dataloader()))[0]) == 10


def test_eval_is_native_png_and_train_only_flips(root: Path) -> None:
    dm = EmbeddedDataModule(root=str(root))
    dm.setup()
    png = np.asarray(Image.open(root / dm.database.paths[5]).convert("RGB"))
    expected = torch.from_numpy(png.copy()).permute(2, 0, 1).float() / 255
    assert torch.equal(dm.database[5][0], expected)
    torch.manual_seed(0)
    seen = set()
    for _ in range(12):
        image = dm.train[5][0]
        assert torch.equal(image, expected) or torch.equal(image, expected.flip(-1))
        seen.add(torch.equal(image, expected))
    assert seen == {True, False}
    assert dm.train.cache_images and 5 in dm.train._cache


def test_default_root_from_cache_env(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROBUST_HASHING_CACHE", str(tmp_path))
    build_embedded(default_root(2), seed=2, sizes=SIZES)  # pre-built: no full-size build
    dm = EmbeddedDataModule(seed=2)
    assert Path(dm.root) == tmp_path / "embedded-v1-seed2" and dm.num_train == 16
