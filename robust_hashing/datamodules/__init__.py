"""Lightning data modules: one base class plus one thin subclass per dataset.

A data module is one module registering its class with ``@DATAMODULES.register("name")``,
plus one line in the import block below.
"""

from __future__ import annotations

from typing import Any

# The built-in data modules: importing a module registers it (one line each, sorted).
from robust_hashing.datamodules import (  # noqa: F401
    coco,
    embedded,
    flickr25k,
    nuswide,
)
from robust_hashing.datamodules.base import DATAMODULES, HashingDataModule
from robust_hashing.datamodules.coco import CocoDataModule
from robust_hashing.datamodules.embedded import EmbeddedDataModule
from robust_hashing.datamodules.flickr25k import Flickr25KDataModule
from robust_hashing.datamodules.nuswide import NusWideDataModule

__all__ = [
    "DATAMODULES",
    "CocoDataModule",
    "EmbeddedDataModule",
    "Flickr25KDataModule",
    "HashingDataModule",
    "NusWideDataModule",
    "get_datamodule",
]


def get_datamodule(name: str, **kwargs: Any) -> HashingDataModule:
    """Instantiate the data module registered as ``name`` with ``kwargs``."""
    return DATAMODULES.get(name)(**kwargs)
