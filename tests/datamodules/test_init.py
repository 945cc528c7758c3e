from pathlib import Path

import pytest

from robust_hashing.datamodules import (
    DATAMODULES,
    CocoDataModule,
    EmbeddedDataModule,
    Flickr25KDataModule,
    HashingDataModule,
    NusWideDataModule,
    get_datamodule,
)


def test_registry_contents() -> None:
    assert DATAMODULES.list() == ["coco", "embedded", "flickr25k", "nuswide"]
    assert DATAMODULES.get("embedded") is EmbeddedDataModule
    for name in DATAMODULES:
        assert issubclass(DATAMODULES.get(name), HashingDataModule)


@pytest.mark.parametrize(
    ("name", "cls", "classes"),
    [("flickr25k", Flickr25KDataModule, 38), ("nuswide", NusWideDataModule, 21),
     ("coco", CocoDataModule, 80)],
)  # fmt: skip
def test_get_datamodule(name: str, cls: type, classes: int, tmp_path: Path) -> None:
    dm = get_datamodule(name, root=str(tmp_path), batch_size=3)
    assert type(dm) is cls and dm.num_classes == classes and dm.batch_size == 3
    assert "num_classes" not in dm.hparams and dm.hparams["batch_size"] == 3


def test_unknown_name() -> None:
    with pytest.raises(KeyError, match="unknown datamodule 'cifar'"):
        get_datamodule("cifar")
