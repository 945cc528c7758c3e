"""Data module of FLICKR-25K, 38-label variant (38 classes; protocol §1)."""

from __future__ import annotations

from robust_hashing.datamodules.base import DATAMODULES, ListDataModule

__all__ = ["Flickr25KDataModule"]


@DATAMODULES.register("flickr25k")
class Flickr25KDataModule(ListDataModule):
    """FLICKR-25K, 38-label variant.

    1,700 queries, 5,000 train rows (sampled with replacement from the database: 4,496
    unique in the ProS-GAN list files, 4,527 in those ``prepare flickr25k`` writes with its
    default seed 0) and 23,300 database rows.

    The root holds list files in either format of protocol §2 (``train_img.txt`` lists
    paths such as ``mirflickr/im1.jpg``); build them
    with ``robust-hashing prepare flickr25k --raw RAW``.

    Arguments: see :class:`~robust_hashing.datamodules.base.ListDataModule`.
    """

    NUM_CLASSES = 38
