"""Load the real-layout fixtures of tests/data/<name> through their data modules."""

import logging
from pathlib import Path

import pytest
import torch
import yaml
from jsonargparse import ArgumentParser

from robust_hashing.datamodules import (
    CocoDataModule,
    Flickr25KDataModule,
    HashingDataModule,
    NusWideDataModule,
)

DATA = Path(__file__).resolve().parents[1] / "data"
FIT_CONFIGS = sorted((DATA.parents[1] / "benchmark" / "configs" / "fit").glob("*.yaml"))
CASES = [
    ("flickr25k", Flickr25KDataModule),
    ("nuswide", NusWideDataModule),
    ("coco", CocoDataModule),
]


def _root(name: str) -> Path:
    root = DATA / name
    if not root.is_dir():
        pytest.skip(f"fixture folder {root} does not exist yet")
    return root


def _fixture_classes(root: Path) -> int:
    return len((root / "classes.txt").read_text().splitlines())


@pytest.mark.parametrize("fmt", ["two_file", "one_file"])
@pytest.mark.parametrize(("name", "cls"), CASES)
def test_real_layout(name: str, cls: type[HashingDataModule], fmt: str) -> None:
    root = _root(name)
    classes = _fixture_classes(root)
    assert classes == cls.NUM_CLASSES  # type: ignore[attr-defined]
    dm = cls(root=str(root), list_format=fmt, resize=36, crop=32, batch_size=4, eval_batch_size=8)
    rows = {
        s: len((root / f"{s}_img.txt").read_text().splitlines())
        for s in ("train", "test", "database")
    }
    assert dm.num_train == rows["train"] and dm.num_classes == classes
    dm.setup("fit")
    x, y, idx = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 32, 32) and y.shape == (4, classes)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert torch.equal(y, dm.labels("train")[idx])
    for loader, split in ((dm.query_dataloader(), "test"), (dm.database_dataloader(), "database")):
        batches = list(loader)
        assert torch.equal(torch.cat([b[2] for b in batches]), torch.arange(rows[split]))
        assert all(b[0].shape[1:] == (3, 32, 32) for b in batches)
        assert torch.cat([b[1] for b in batches]).shape == (rows[split], classes)


def test_formats_agree_on_fixtures() -> None:
    for name, _ in CASES:
        root = _root(name)
        n = _fixture_classes(root)
        two = HashingDataModule(str(root), n, list_format="two_file", resize=36, crop=32)
        one = HashingDataModule(str(root), n, list_format="one_file", resize=36, crop=32)
        for split in ("train", "query", "database"):
            assert torch.equal(two.labels(split), one.labels(split))  # type: ignore[arg-type]
        assert two.database.paths == one.database.paths


def test_query_dataloader_limits_to_the_first_queries() -> None:
    from robust_hashing.datamodules import Flickr25KDataModule

    root = Path(__file__).parents[1] / "data" / "flickr25k"
    dm = Flickr25KDataModule(root=str(root), resize=36, crop=32, eval_batch_size=4)
    full = [int(i) for _, _, idx in dm.query_dataloader() for i in idx]
    first = [int(i) for _, _, idx in dm.query_dataloader(3) for i in idx]
    assert first == full[:3] == [0, 1, 2]
    assert [int(i) for _, _, idx in dm.query_dataloader(10_000) for i in idx] == full


@pytest.mark.parametrize("path", FIT_CONFIGS, ids=lambda p: p.stem)
def test_fit_configs_train_with_the_ref_transform(path: Path) -> None:
    """The shipped real-data fit configs train with `ref`'s Resize → CenterCrop, no flip."""
    data = yaml.safe_load(path.read_text())["data"]
    data["init_args"]["root"] = str(_root(path.stem))
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(HashingDataModule, "data")
    cfg = parser.parse_object({"data": data})
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    dm = instantiate(cfg).data
    assert (dm.random_crop, dm.flip) == (False, False)
    assert repr(dm.train_transform()) == "Compose([Resize(256), CenterCrop(224), ToTensor()])"
    data["init_args"].update(random_crop=True, flip=True)  # cgat-native, settable from YAML
    dm = instantiate(parser.parse_object({"data": data})).data
    assert "RandomCrop(224), RandomHorizontalFlip" in repr(dm.train_transform())


@pytest.mark.parametrize("fmt", ["two_file", "one_file"])
def test_dedupe_train_on_the_flickr_fixture(fmt: str, caplog: pytest.LogCaptureFixture) -> None:
    """The FLICKR fixture lists im17 and im30 twice: kept by default, dropped on request."""
    from robust_hashing.datamodules import Flickr25KDataModule

    root = _root("flickr25k")
    kwargs = {"root": str(root), "list_format": fmt, "resize": 36, "crop": 32}
    listed = (root / "train_img.txt").read_text().split()
    unique = list(dict.fromkeys(listed))
    assert (len(listed), len(unique)) == (12, 10)

    default = Flickr25KDataModule(**kwargs)
    assert default.num_train == 12 and default.train.paths == listed
    assert default.train_duplicates_removed is None

    with caplog.at_level(logging.INFO):
        dm = Flickr25KDataModule(**kwargs, dedupe_train=True)
        assert dm.num_train == 10  # before setup: the bank is sized for the unique rows
    assert dm.train_duplicates_removed == 2
    assert "dedupe_train removed 2 duplicate train row(s) of 12; 10 remain" in caplog.text
    assert dm.hparams["dedupe_train"] is True
    dm.setup("fit")
    assert dm.train.paths == dm.train_eval.paths == unique
    first = [listed.index(p) for p in unique]
    assert torch.equal(dm.labels("train"), default.labels("train")[first])
    assert torch.equal(torch.cat([b[2] for b in dm.train_eval_dataloader()]), torch.arange(10))
    assert sorted(int(i) for b in dm.train_dataloader() for i in b[2]) == list(range(10))
    # only the train split is deduplicated
    assert dm.database.paths == default.database.paths
    assert dm.query.paths == default.query.paths


def test_all_zero_label_rows_are_kept_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    """Protocol §1: all-zero label rows stay in the lists and their count is reported."""
    root = _root("flickr25k")
    rows = (root / "test_label.txt").read_text().splitlines()
    zero = sum(1 for r in rows if set(r.split()) == {"0"})
    assert zero >= 1  # the fixture has at least one such query
    with caplog.at_level(logging.INFO):
        dm = Flickr25KDataModule(root=str(root), resize=36, crop=32)
        dm.setup("test")
    assert len(dm.query) == len(rows) and dm.unlabelled_rows["test"] == zero
    assert f"{zero} of {len(rows)} test rows have no label" in caplog.text


def test_content_identity_leaves_out_where_the_data_lives() -> None:
    from robust_hashing.datamodules.embedded import EmbeddedDataModule
    from robust_hashing.datasets.lists import list_digest

    root = DATA / "flickr25k"
    kwargs = {"root": str(root), "batch_size": 8, "num_workers": 3, "cache_images": True}
    assert Flickr25KDataModule.content_identity(kwargs) == {
        "batch_size": 8,
        "lists": list_digest(root),
    }
    assert list_digest(root / "nowhere") == "missing"
    assert EmbeddedDataModule.content_identity({"root": "/x", "seed": 1}) == {"seed": 1}
