"""Lightning data modules: one base class plus one thin subclass per dataset."""

from __future__ import annotations

from typing import Any

from robust_hashing.datamodules.base import HashingDataModule
from robust_hashing.datamodules.coco import CocoDataModule
from robust_hashing.datamodules.embedded import EmbeddedDataModule
from robust_hashing.datamodules.flickr25k import Flickr25KDataModule
from robust_hashing.datamodules.nuswide import NusWideDataModule
from robust_hashing.registry import Registry

__all__ = [
    "DATAMODULES",
    "CocoDataModule",
    "EmbeddedDataModule",
    "Flickr25KDataModule",
    "HashingDataModule",
    "NusWideDataModule",
    "get_datamodule",
]

DATAMODULES: Registry[type[HashingDataModule]] = Registry("datamodule")
DATAMODULES.add("embedded", EmbeddedDataModule)
DATAMODULES.add("flickr25k", Flickr25KDataModule)
DATAMODULES.add("nuswide", NusWideDataModule)
DATAMODULES.add("coco", CocoDataModule)


def get_datamodule(name: str, **kwargs: Any) -> HashingDataModule:
    """Instantiate the data module registered as ``name`` with ``kwargs``."""
    return DATAMODULES.get(name)(**kwargs)
