"""Data module of the embedded default dataset (Animal-MNIST mosaics, 64×64, 10 classes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from PIL import Image

from robust_hashing.datamodules.base import DATAMODULES, HashingDataModule
from robust_hashing.datasets.embedded import CLASS_NAMES, build_embedded
from robust_hashing.datasets.transforms import native_transform

__all__ = ["EmbeddedDataModule"]


@DATAMODULES.register("embedded")
class EmbeddedDataModule(HashingDataModule):
    """The embedded dataset at its native 64×64 size; needs no download.

    The folder is built on first use (about 15 s) and verified against its manifest
    otherwise, already in ``__init__`` so that :attr:`num_train` is known at instantiation.
    Training augmentation is a random horizontal flip only.

    Args:
        root: data folder; defaults to ``$ROBUST_HASHING_CACHE/embedded-v1-seed{seed}``.
        seed: generator seed of the data (and of the training shuffle).
        batch_size: training batch size.
        eval_batch_size: batch size of the query, database and train-eval loaders.
        num_workers: data-loader worker processes.
        cache_images: keep decoded images in memory (the whole set is about 130 MB).
    """

    NUM_CLASSES: ClassVar[int] = len(CLASS_NAMES)

    def __init__(
        self,
        root: str | None = None,
        seed: int = 0,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        cache_images: bool = True,
    ) -> None:
        path = build_embedded(root, seed=seed)
        super().__init__(
            root=str(path),
            num_classes=self.NUM_CLASSES,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            num_workers=num_workers,
            list_format="two_file",
            resize=64,
            crop=64,
            random_crop=False,
            flip=True,  # what train_transform below does; the base pipeline is not used
            cache_images=cache_images,
            seed=seed,
        )

    @classmethod
    def content_identity(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments without where the folder lives: its content follows from ``seed``."""
        return {k: v for k, v in kwargs.items() if k not in cls.LOCATION_ARGS}

    def prepare_data(self) -> None:
        """Rebuild the folder if it vanished since ``__init__`` (cheap check otherwise)."""
        build_embedded(self.root, seed=self.seed, check_images=False)

    def train_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """Random horizontal flip, then tensor (native size)."""
        return native_transform(flip=True)

    def eval_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """Tensor at native size."""
        return native_transform()
