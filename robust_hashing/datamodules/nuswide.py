"""Data module of NUS-WIDE-21 (21 classes; protocol §1)."""

from __future__ import annotations

from robust_hashing.datamodules.base import DATAMODULES, ListDataModule

__all__ = ["NusWideDataModule"]


@DATAMODULES.register("nuswide")
class NusWideDataModule(ListDataModule):
    """NUS-WIDE, 21 most frequent concepts.

    2,100 queries, 10,500 train rows (contained in the database) and 193,734 database
    rows.

    The root holds list files in either format of protocol §2 (``train_img.txt`` lists
    paths such as ``Flickr/actor/0001_2124494179.jpg``, or ``images/<name>.jpg`` with
    ``prepare nuswide --path-style images``); build them
    with ``robust-hashing prepare nuswide --raw RAW``.

    Arguments: see :class:`~robust_hashing.datamodules.base.ListDataModule`.
    """

    NUM_CLASSES = 21
