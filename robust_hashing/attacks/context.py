"""Glue: build the :class:`AttackContext` of a model on a data module (protocol §7.1).

Everything an adaptive attack needs is recomputed from the evaluated model: the training
sign bank (train split, evaluation transform, eval mode) and the database codes, both
through :func:`robust_hashing.tasks.encode` (``trainer.predict``, any accelerator/DDP).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from robust_hashing.attacks.base import AttackContext
from robust_hashing.io import torch_save_atomic
from robust_hashing.models import HashNet


def _banks(
    model: HashNet,
    datamodule: Any,
    trainer: L.Trainer | None,
    cache_dir: str | Path | None,
    model_key: str,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Train sign bank and database codes, cached as ``cache_dir/banks-<model_key>.pt``.

    Nothing is cached without both a ``cache_dir`` and a ``model_key`` (which must identify
    the checkpoint, e.g. a hash of it).
    """
    from robust_hashing.tasks import encode

    path = None if cache_dir is None or not model_key else Path(cache_dir) / f"banks-{model_key}.pt"
    if path is not None and path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return saved["train_codes"], saved["train_labels"], saved["db_codes"], saved["db_labels"]
    train_codes, train_labels = encode(model, datamodule.train_eval_dataloader(), trainer)
    db_codes, db_labels = encode(model, datamodule.database_dataloader(), trainer)
    if path is not None:
        banks = {"train_codes": train_codes, "train_labels": train_labels}
        torch_save_atomic({**banks, "db_codes": db_codes, "db_labels": db_labels}, path)
    return train_codes, train_labels, db_codes, db_labels


def build_context(
    model: HashNet,
    datamodule: Any,
    trainer: L.Trainer | None = None,
    cache_dir: str | Path | None = None,
    model_key: str = "",
    dataset: str = "",
) -> AttackContext:
    """Encode the training and database splits with ``model`` and wrap them for attacks.

    Args:
        model: the attacked hash network.
        datamodule: a :class:`~robust_hashing.datamodules.HashingDataModule`.
        trainer: trainer used for encoding (None: a single-device default one).
        cache_dir: where THA / ProS-GAN networks trained against ``model`` and the encoded
            banks are cached (must be specific to this checkpoint).
        model_key: identifies the checkpoint in cache file names (e.g. its hash or path).
        dataset: dataset name (ProS-GAN's λ_rec depends on it).

    Returns:
        The context, tensors on CPU; ``train_loader`` is the shuffled training loader.
    """
    datamodule.prepare_data()
    datamodule.setup("fit")
    train_codes, train_labels, db_codes, db_labels = _banks(
        model, datamodule, trainer, cache_dir, model_key
    )
    return AttackContext(
        train_codes=train_codes.float().cpu(),
        train_labels=train_labels.float().cpu(),
        db_codes=db_codes.float().cpu(),
        db_labels=db_labels.float().cpu(),
        num_classes=int(train_labels.shape[1]),
        bits=int(model.bits),
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        model_key=model_key,
        train_loader=datamodule.train_dataloader(),
        dataset=dataset,
    )
