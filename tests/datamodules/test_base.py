from pathlib import Path

import pytest
import torch

from robust_hashing.datamodules import HashingDataModule
from robust_hashing.datasets.lists import DatasetError

SPLIT_SIZES = {"train": 10, "test": 4, "database": 14}  # as written by conftest.py


def _dm(root: Path, **kwargs: object) -> HashingDataModule:
    args = {"num_classes": 3, "batch_size": 4, "eval_batch_size": 5, "resize": 36, "crop": 32}
    args.update(kwargs)
    return HashingDataModule(str(root), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["auto", "two_file", "one_file"])
def test_num_train_before_setup(tmp_path: Path, list_dataset, fmt: str) -> None:
    list_dataset()
    dm = _dm(tmp_path, list_format=fmt)
    assert dm.num_train == SPLIT_SIZES["train"] and dm.num_classes == 3
    assert dm._datasets == {}  # nothing built yet


def test_num_train_missing_list(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no list file for split 'train'"):
        _ = _dm(tmp_path).num_train


def test_loaders_shapes_ranges_and_indices(tmp_path: Path, list_dataset) -> None:
    labels = list_dataset()
    dm = _dm(tmp_path)
    dm.setup("fit")
    assert set(dm._datasets) == {"train", "train_eval", "query", "database"}
    x, y, idx = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.1
    assert y.shape == (4, 3) and y.dtype == torch.float32
    assert torch.equal(y, torch.tensor(labels["train"][idx.numpy()], dtype=torch.float32))
    for loader, split in ((dm.query_dataloader(), "test"), (dm.database_dataloader(), "database")):
        indices = torch.cat([b[2] for b in loader])
        assert torch.equal(indices, torch.arange(SPLIT_SIZES[split]))
        assert loader.batch_size == 5
        assert next(len(b[0]) for b in loader) == min(5, SPLIT_SIZES[split])
        assert next(iter(loader))[0].shape[1:] == (3, 32, 32)
    assert torch.equal(torch.cat([b[2] for b in dm.train_eval_dataloader()]), torch.arange(10))


def test_train_loader_shuffles_reproducibly(tmp_path: Path, list_dataset) -> None:
    list_dataset()
    orders = []
    for _ in range(2):
        dm = _dm(tmp_path, seed=7)
        dm.setup("fit")
        loader = dm.train_dataloader()
        orders.append([torch.cat([b[2] for b in loader]).tolist() for _ in range(2)])
    assert orders[0] == orders[1]
    first, second = orders[0]
    assert sorted(first) == list(range(10)) and first != list(range(10)) and first != second


def test_eval_transform_is_deterministic(tmp_path: Path, list_dataset) -> None:
    list_dataset()
    dm = _dm(tmp_path)
    dm.setup()
    assert torch.equal(dm.train_eval[3][0], dm.train_eval[3][0])
    assert dm.train_eval.labels is dm.train.labels  # rows parsed once
    # default training transform = `ref`'s (Resize → CenterCrop, no flip): deterministic
    assert not dm.random_crop and not dm.flip
    assert all(torch.equal(dm.train[3][0], dm.train_eval[3][0]) for _ in range(5))
    torch.manual_seed(0)
    for kwargs in ({"random_crop": True, "flip": True}, {"flip": True}, {"random_crop": True}):
        dm = _dm(tmp_path, **kwargs)
        crops = {tuple(dm.train[3][0].flatten()[:20].tolist()) for _ in range(10)}
        assert len(crops) > 1, kwargs
    dm = _dm(tmp_path, flip=True)
    ref = dm.train_eval[3][0]
    flips = [dm.train[3][0] for _ in range(10)]
    assert all(torch.equal(x, ref) or torch.equal(x, ref.flip(-1)) for x in flips)


def test_stage_loaders_and_labels(tmp_path: Path, list_dataset) -> None:
    labels = list_dataset()
    dm = _dm(tmp_path, list_format="one_file")
    dm.setup("predict")
    assert set(dm._datasets) == {"database"}
    val = dm.val_dataloader()
    assert isinstance(val, list) and len(val) == 2
    assert val[0].dataset is dm.query and val[1].dataset is dm.database
    assert dm.test_dataloader().dataset is dm.query
    assert dm.predict_dataloader().dataset is dm.database
    for split, name in (("train", "train"), ("query", "test"), ("database", "database")):
        expected = torch.tensor(labels[name], dtype=torch.float32)
        assert torch.equal(dm.labels(split), expected)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="split must be train, query or database"):
        dm.labels("test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown split"):
        dm.dataset("val")  # type: ignore[arg-type]


def test_hparams_and_validation(tmp_path: Path) -> None:
    dm = _dm(tmp_path, cache_images=True)
    assert dm.hparams["num_classes"] == 3 and dm.hparams["crop"] == 32
    assert dm.hparams["cache_images"] is True
    assert dm.hparams["random_crop"] is False and dm.hparams["flip"] is False
    assert _dm(tmp_path, flip=True).hparams["flip"] is True
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        _dm(tmp_path, batch_size=0)
