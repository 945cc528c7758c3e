"""Data module of FLICKR-25K, 38-label variant (38 classes; protocol §1)."""

from __future__ import annotations

from typing import Literal

from robust_hashing.datamodules.base import HashingDataModule

__all__ = ["Flickr25KDataModule"]


class Flickr25KDataModule(HashingDataModule):
    """FLICKR-25K, 38-label variant.

    1,700 queries, 5,000 train rows (4,496 unique, sampled with replacement from the
    database) and 23,300 database rows.

    The root holds list files in either format of protocol §2 (``train_img.txt`` lists
    paths such as ``mirflickr/im1.jpg``); build them
    with ``robust-hashing prepare flickr25k --raw RAW``.

    Args:
        root: dataset root (list files and image folders).
        batch_size: training batch size.
        eval_batch_size: batch size of the query, database and train-eval loaders.
        num_workers: data-loader worker processes.
        list_format: ``auto``, ``two_file`` or ``one_file``.
        resize: shorter side after resizing (protocol: 256).
        crop: square crop side (protocol: 224).
        random_crop: random (true) or centre (false) training crop.
        cache_images: keep decoded images in memory after their first load.
        seed: seed of the training shuffle.
    """

    NUM_CLASSES = 38

    def __init__(
        self,
        root: str = "data/flickr25k",
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        list_format: Literal["auto", "two_file", "one_file"] = "auto",
        resize: int = 256,
        crop: int = 224,
        random_crop: bool = True,
        cache_images: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(
            root=root,
            num_classes=self.NUM_CLASSES,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            num_workers=num_workers,
            list_format=list_format,
            resize=resize,
            crop=crop,
            random_crop=random_crop,
            cache_images=cache_images,
            seed=seed,
        )
