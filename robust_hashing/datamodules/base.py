"""Base Lightning data module for list-file hashing datasets (torchgeo NonGeoDataModule style).

Split names: ``train`` (training transform, shuffled), ``train_eval`` (the train split with the
evaluation transform, ordered: used for the training sign bank), ``query`` (list split
``test``) and ``database``. Images stay in [0, 1]; the model normalises.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.utilities import rank_zero_info
from PIL import Image
from torch.utils.data import DataLoader, Subset

from robust_hashing.constants import DATAMODULE_GROUP
from robust_hashing.datasets.lists import HashingListDataset, count_rows, list_digest
from robust_hashing.datasets.transforms import eval_transform, train_transform
from robust_hashing.registry import Registry

__all__ = ["HashingDataModule", "ListDataModule", "Split"]

Split = Literal["train", "train_eval", "query", "database"]
_LIST_SPLIT = {"train": "train", "train_eval": "train", "query": "test", "database": "database"}


class HashingDataModule(LightningDataModule):
    """Train / query / database loaders over a dataset root holding list files.

    The default training transform is the `ref` one, Resize 256 → CenterCrop 224 with no
    flip; ``random_crop=True, flip=True`` gives `cgat-native`'s, Resize 256 → RandomCrop 224
    → flip (algorithms §2). Query, database and train-eval loaders always use Resize →
    CenterCrop (protocol §2).

    Args:
        root: dataset root with the list files of protocol §2.
        num_classes: number C of label columns.
        batch_size: training batch size.
        eval_batch_size: batch size of the query, database and train-eval loaders.
        num_workers: data-loader worker processes.
        list_format: ``auto`` (two-file when ``{split}_img.txt`` exists), ``two_file`` or
            ``one_file``.
        resize: shorter side after resizing (protocol: 256).
        crop: square crop side (protocol: 224).
        random_crop: random (true) or centre (false) crop for training.
        flip: random horizontal flip after the training crop.
        dedupe_train: drop duplicate train rows (same image path and labels), keeping the
            first of each, so each image gets one bank slot (protocol §1, ours). Off by
            default: duplicates are kept as listed, one bank slot each. The number removed
            is logged and kept in :attr:`train_duplicates_removed`.
        cache_images: keep decoded images in memory after their first load.
        seed: seed of the training-loader shuffling generator.
    """

    def __init__(
        self,
        root: str,
        num_classes: int,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        list_format: Literal["auto", "two_file", "one_file"] = "auto",
        resize: int = 256,
        crop: int = 224,
        random_crop: bool = False,
        flip: bool = False,
        dedupe_train: bool = False,
        cache_images: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self._save_own_hyperparameters()
        for name, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if value < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be >= 1, got {value}")
        self.root = str(root)
        self._num_classes = int(num_classes)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.list_format = list_format
        self.cache_images = cache_images
        self.seed = seed
        self.resize, self.crop, self.random_crop, self.flip = resize, crop, random_crop, flip
        self.dedupe_train = dedupe_train
        # all-zero label rows per list split read so far (protocol §1: reported, kept)
        self.unlabelled_rows: dict[str, int] = {}
        # rows dropped by dedupe_train; None until the train list is read (or without it)
        self.train_duplicates_removed: int | None = None
        self._lists: dict[str, HashingListDataset] = {}  # parsed rows per list split
        self._datasets: dict[str, HashingListDataset] = {}
        self._num_train: int | None = None

    LOCATION_ARGS: ClassVar[tuple[str, ...]] = ("root", "num_workers", "cache_images")
    """Arguments that say where the data lives or how it is loaded, not what it is."""

    @classmethod
    def content_identity(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """What determines the data of ``cls(**kwargs)``, for cache keys and provenance.

        The arguments without :attr:`LOCATION_ARGS`, plus a digest of the list files
        (``*.txt``) at the top of ``root``: the same lists under another path give the same
        identity, edited lists a new one. The images themselves are not read.
        """
        identity = {k: v for k, v in kwargs.items() if k not in cls.LOCATION_ARGS}
        if kwargs.get("root") is not None:
            identity["lists"] = list_digest(kwargs["root"])
        return identity

    def _save_own_hyperparameters(self) -> None:
        """Save the arguments of the most specific ``__init__``.

        A subclass's checkpointed hyperparameters then match its own signature.
        """
        here = inspect.currentframe()
        base_init = here.f_back if here is not None else None
        caller = base_init.f_back if base_init is not None else None
        if (
            type(self) is not HashingDataModule
            and caller is not None
            and caller.f_code.co_name == "__init__"
            and caller.f_locals.get("self") is self
        ):
            self.save_hyperparameters(frame=caller)
        else:
            self.save_hyperparameters(frame=base_init)

    @property
    def num_classes(self) -> int:
        """Number of label columns C."""
        return self._num_classes

    @property
    def num_train(self) -> int:
        """Rows of the train split, read from its list file (works before :meth:`setup`).

        With ``dedupe_train`` the count after removing duplicate rows.
        """
        if self._num_train is None:
            if self.dedupe_train:
                self._num_train = len(self._list_rows("train"))
            else:
                self._num_train = count_rows(self.root, "train", self.list_format)
        return self._num_train

    def train_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """Training pipeline (override for datasets at native size)."""
        return train_transform(self.resize, self.crop, random=self.random_crop, flip=self.flip)

    def eval_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """Evaluation pipeline: Resize → CenterCrop (override for native-size datasets)."""
        return eval_transform(self.resize, self.crop)

    def dataset(self, split: Split) -> HashingListDataset:
        """Return (building on first use) the dataset of ``split``."""
        if split not in _LIST_SPLIT:
            raise ValueError(f"unknown split {split!r}; expected one of {sorted(_LIST_SPLIT)}")
        if split not in self._datasets:
            base = self._list_rows(_LIST_SPLIT[split])  # train and train_eval share it
            transform = self.train_transform() if split == "train" else self.eval_transform()
            self._datasets[split] = base.with_transform(transform)
        return self._datasets[split]

    def _list_rows(self, list_split: str) -> HashingListDataset:
        """Parsed rows (and image cache) of a list split, built once.

        The ``train`` rows are deduplicated here when ``dedupe_train`` is set.
        """
        if list_split not in self._lists:
            rows = HashingListDataset(
                self.root, list_split, self.num_classes,
                list_format=self.list_format, cache_images=self.cache_images,
            )  # fmt: skip
            unlabelled = int((rows.labels.sum(1) == 0).sum())
            self.unlabelled_rows[list_split] = unlabelled
            if unlabelled:  # protocol §1: kept, never relevant; report their count
                rank_zero_info(
                    f"{type(self).__name__}: {unlabelled} of {len(rows)} {list_split} rows have "
                    "no label (kept; never relevant to any query)"
                )
            if list_split == "train" and self.dedupe_train:
                unique = rows.deduplicated()
                self.train_duplicates_removed = len(rows) - len(unique)
                rank_zero_info(
                    f"{type(self).__name__}: dedupe_train removed "
                    f"{self.train_duplicates_removed} duplicate train row(s) of {len(rows)}; "
                    f"{len(unique)} remain"
                )
                rows = unique
            self._lists[list_split] = rows
        return self._lists[list_split]

    @property
    def train(self) -> HashingListDataset:
        """Train split with the training transform."""
        return self.dataset("train")

    @property
    def train_eval(self) -> HashingListDataset:
        """Train split with the evaluation transform."""
        return self.dataset("train_eval")

    @property
    def query(self) -> HashingListDataset:
        """Query split (list split ``test``)."""
        return self.dataset("query")

    @property
    def database(self) -> HashingListDataset:
        """Database split."""
        return self.dataset("database")

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets a stage needs (``fit``/``validate``/``test``/``predict``/None)."""
        needed: dict[str | None, tuple[Split, ...]] = {
            "fit": ("train", "train_eval", "query", "database"),
            "validate": ("query", "database"),
            "test": ("query", "database"),
            "predict": ("database",),
        }
        for split in needed.get(stage, ("train", "train_eval", "query", "database")):
            self.dataset(split)

    def labels(self, split: Literal["train", "query", "database"]) -> torch.Tensor:
        """Multi-hot labels (N×C float) of ``train``, ``query`` or ``database``."""
        if split not in ("train", "query", "database"):
            raise ValueError(f"labels: split must be train, query or database, got {split!r}")
        return self.dataset(split).labels

    def _dataloader_factory(self, split: Split) -> DataLoader:
        training = split == "train"
        generator = torch.Generator().manual_seed(self.seed) if training else None
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size if training else self.eval_batch_size,
            shuffle=training,
            drop_last=False,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            generator=generator,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training loader with the training transform."""
        return self._dataloader_factory("train")

    def train_eval_dataloader(self) -> DataLoader:
        """Ordered train-split loader with the evaluation transform."""
        return self._dataloader_factory("train_eval")

    def query_dataloader(self, max_queries: int | None = None) -> DataLoader:
        """Ordered query loader; only the first ``max_queries`` queries when given."""
        loader = self._dataloader_factory("query")
        if max_queries is None or max_queries >= len(self.query):
            return loader
        subset = Subset(self.query, range(max_queries))
        return DataLoader(subset, batch_size=loader.batch_size, num_workers=self.num_workers)

    def database_dataloader(self) -> DataLoader:
        """Ordered database loader."""
        return self._dataloader_factory("database")

    def val_dataloader(self) -> list[DataLoader]:
        """``[query, database]`` loaders (validation mAP needs both)."""
        return [self.query_dataloader(), self.database_dataloader()]

    def test_dataloader(self) -> DataLoader:
        """The query loader."""
        return self.query_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """The database loader."""
        return self.database_dataloader()


DATAMODULES: Registry[type[HashingDataModule]] = Registry(
    "datamodule", base=HashingDataModule, entry_point_group=DATAMODULE_GROUP
)
"""The data modules by name; one registers with ``@DATAMODULES.register("name")``."""


class ListDataModule(HashingDataModule):
    """A real dataset of the field: list files under ``root`` and a fixed class count.

    Subclasses only set :attr:`NUM_CLASSES` (and document the dataset). The default training
    transform is `ref`'s (see :class:`HashingDataModule`).

    Args:
        root: dataset root (list files and image folders).
        batch_size: training batch size.
        eval_batch_size: batch size of the query, database and train-eval loaders.
        num_workers: data-loader worker processes.
        list_format: ``auto``, ``two_file`` or ``one_file``.
        resize: shorter side after resizing (protocol: 256).
        crop: square crop side (protocol: 224).
        random_crop: random (true) or centre (false) training crop.
        flip: random horizontal flip after the training crop.
        dedupe_train: drop duplicate train rows (see :class:`HashingDataModule`).
        cache_images: keep decoded images in memory after their first load.
        seed: seed of the training shuffle.
    """

    NUM_CLASSES: ClassVar[int]

    def __init__(
        self,
        root: str,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        list_format: Literal["auto", "two_file", "one_file"] = "auto",
        resize: int = 256,
        crop: int = 224,
        random_crop: bool = False,
        flip: bool = False,
        dedupe_train: bool = False,
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
            flip=flip,
            dedupe_train=dedupe_train,
            cache_images=cache_images,
            seed=seed,
        )
