"""Data module of MS-COCO 2014 (80 classes; protocol §1)."""

from __future__ import annotations

from robust_hashing.datamodules.base import DATAMODULES, ListDataModule

__all__ = ["CocoDataModule"]


@DATAMODULES.register("coco")
class CocoDataModule(ListDataModule):
    """MS-COCO 2014 (train + val), 80 categories.

    5,000 queries, 10,000 train rows (contained in the database) and 117,218 database
    rows.

    The root holds list files in either format of protocol §2 (``train_img.txt`` lists
    paths such as ``train2014/COCO_train2014_000000127540.jpg``); build them
    with ``robust-hashing prepare coco --raw RAW``.

    Arguments: see :class:`~robust_hashing.datamodules.base.ListDataModule`.
    """

    NUM_CLASSES = 80
