"""Encode a split into ±1 codes, ordered by dataset index.

:func:`encode` goes through ``trainer.predict`` so it runs on any accelerator and under
DDP: every process encodes its shard, the shards are exchanged with
``all_gather_object`` (shards may differ in size) and de-duplicated by the dataset index
each item carries, so every process returns the same complete, ordered tensors. A model
whose outputs are NaN or infinite (a diverged training) is refused rather than encoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from torch import Tensor

from robust_hashing.models import HashNet
from robust_hashing.ops import sign
from robust_hashing.tasks.guards import check_finite_outputs


class _Encoder(L.LightningModule):
    """Predict-only wrapper returning codes, labels and indices of a batch."""

    def __init__(self, model: HashNet) -> None:
        super().__init__()
        self.model = model
        self._parts: list[tuple[Tensor, Tensor, Tensor]] = []
        self.result: tuple[Tensor, Tensor] | None = None

    def on_predict_epoch_start(self) -> None:
        self._parts = []

    def predict_step(self, batch: Any, batch_idx: int) -> None:
        x, y, idx = batch
        codes = finite_codes(self.model, x)
        self._parts.append((codes.cpu(), y.float().cpu(), idx.cpu()))

    def on_predict_epoch_end(self) -> None:
        parts = self._parts
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, parts)
            parts = [p for shard in gathered for p in shard]
        self.result = merge_by_index(parts)
        self._parts = []


@torch.no_grad()
def finite_codes(model: HashNet, x: Tensor) -> Tensor:
    """``model.encode(x)``, refusing NaN or infinite outputs (sgn would hide them as -1).

    Raises:
        NonFiniteError: naming how many of the images have no finite output.
    """
    z = model.logits(x)
    check_finite_outputs(z, "encoding")
    return sign(z)


def merge_by_index(parts: Iterable[tuple[Tensor, Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """Concatenate (codes, labels, index) shards, drop duplicate indices, sort by index."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing was encoded: the data loader is empty")
    codes = torch.cat([p[0] for p in parts])
    labels = torch.cat([p[1] for p in parts])
    index = torch.cat([p[2] for p in parts]).long()
    order = torch.argsort(index, stable=True)
    index, codes, labels = index[order], codes[order], labels[order]
    keep = torch.ones_like(index, dtype=torch.bool)
    keep[1:] = index[1:] != index[:-1]
    index = index[keep]
    if index[0] != 0 or index[-1] != len(index) - 1:
        raise ValueError(
            f"encoded indices are not 0..{len(index) - 1}: got {index[0]}..{index[-1]}"
        )
    return codes[keep], labels[keep]


def encode(
    model: HashNet, loader: Iterable[Any], trainer: L.Trainer | None = None
) -> tuple[Tensor, Tensor]:
    """Codes (N×K, ±1 float, CPU) and labels (N×C) of every item of ``loader``.

    Args:
        model: hash network; encoded in eval mode.
        loader: yields ``(images, labels, index)`` batches.
        trainer: the trainer to run ``predict`` with (default: a quiet single-device one).
    """
    if trainer is None:
        trainer = L.Trainer(
            accelerator="auto",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=False,
        )
    encoder = _Encoder(model)
    was_training = model.training
    trainer.predict(encoder, dataloaders=loader, return_predictions=False)  # type: ignore[arg-type]
    model.train(was_training)
    assert encoder.result is not None
    return encoder.result


@torch.no_grad()
def encode_direct(
    model: HashNet, loader: Iterable[Any], device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """Plain-loop variant of :func:`encode` for use inside a running ``fit`` (eval mode).

    Returns codes and labels on ``device`` (default: the model's device), ordered by index.
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = []
    for x, y, idx in loader:
        parts.append((finite_codes(model, x.to(dev)), y.float().to(dev), idx.to(dev)))
    model.train(was_training)
    codes, labels = merge_by_index([(c.cpu(), y.cpu(), i.cpu()) for c, y, i in parts])
    return codes.to(dev), labels.to(dev)
