"""Stop on non-finite values, keep checkpoints plain, and flag a model ranking at chance.

:class:`TrainingGuard` is attached to every :class:`~robust_hashing.tasks.HashingTask`
(defenses included) through ``configure_callbacks``:

* a NaN or infinite loss, or weights that became non-finite after an optimiser step, stop
  ``fit`` with a one-line :class:`NonFiniteError`; the checkpoints written before stay as
  they are, and a checkpoint of non-finite weights is never written. The loss is checked
  at every step; the weights (a device synchronisation) every ``check_every`` optimiser
  steps, before every validation run of ``fit`` and at the end of every training epoch,
  i.e. before the ``ModelCheckpoint`` saves of those hooks (Lightning runs checkpoint
  callbacks last), and in every full checkpoint written;
* the hyper-parameters written into a checkpoint are made plain (see
  :func:`~robust_hashing.tasks.safe_load.plain`), so ``torch.load(weights_only=True)``
  reads every checkpoint the package writes.

:func:`chance_level` is the expected mAP of a random ranking; :func:`chance_warning`
words the warning given when a model's clean mAP is no better.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch import Tensor

from robust_hashing.tasks.safe_load import plain
from robust_hashing.tasks.weights import non_finite

CHANCE_MARGIN = 0.05
"""A clean mAP within this share of the way from chance level to 1 is "at chance"."""

DEFAULT_CHECK_EVERY = 50
"""Optimiser steps between two checks of the weights by :class:`TrainingGuard`."""


class NonFiniteError(ValueError):
    """Training or encoding met a NaN or infinite value (one-line message)."""


class TrainingGuard(L.Callback):
    """Stop training on a non-finite loss or weights; write checkpoints of plain values.

    Args:
        check_every: check the weights every this many optimiser steps (besides before
            every validation run of ``fit`` and at every training-epoch end).

    Raises:
        ValueError: if ``check_every`` < 1.
    """

    def __init__(self, check_every: int = DEFAULT_CHECK_EVERY) -> None:
        if check_every < 1:
            raise ValueError(f"check_every must be >= 1, got {check_every}")
        self.check_every = check_every
        self._checked_step = 0  # the global step of the last periodic check

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: Tensor
    ) -> None:
        """Refuse to back-propagate a NaN or infinite loss."""
        if not bool(torch.isfinite(loss.detach()).all()):
            raise NonFiniteError(_stopped(trainer, pl_module, f"the loss is {loss.item()}"))

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Check the weights every ``check_every`` optimiser steps (once per step)."""
        step = trainer.global_step
        if step != self._checked_step and step % self.check_every == 0:
            self._checked_step = step
            check_finite_weights(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Check the weights before a validation run of ``fit``, whose end may save them."""
        if trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking:
            check_finite_weights(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Check the weights at the end of every training epoch, before its checkpoint."""
        check_finite_weights(trainer, pl_module)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Write hyper-parameters as plain values; refuse to write non-finite weights."""
        for key in ("hyper_parameters", "datamodule_hyper_parameters"):
            if key in checkpoint:
                checkpoint[key] = plain(checkpoint[key])
        bad = non_finite(checkpoint.get("state_dict", {}))
        if bad:
            raise NonFiniteError(_stopped(trainer, pl_module, f"non-finite weights ({bad[0]!r})"))


def check_finite_weights(trainer: L.Trainer, pl_module: L.LightningModule) -> None:
    """Refuse to go on with weights that became non-finite (one device synchronisation).

    Raises:
        NonFiniteError: naming up to three non-finite parameters.
    """
    params = [p.detach() for p in pl_module.parameters()]
    if params and not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
        bad = non_finite(dict(pl_module.named_parameters()))
        names = ", ".join(repr(k) for k in bad[:3]) + (" …" if len(bad) > 3 else "")
        raise NonFiniteError(_stopped(trainer, pl_module, f"non-finite weights ({names})"))


def _stopped(trainer: L.Trainer, pl_module: L.LightningModule, what: str) -> str:
    """``training stopped at step N (epoch E): <what> (lr=…); <what is kept>``."""
    lr = pl_module.hparams.get("lr") if hasattr(pl_module, "hparams") else None
    lr_text = f" with lr={lr}" if lr is not None else ""
    callback = trainer.checkpoint_callback
    last = getattr(callback, "last_model_path", "") or getattr(callback, "best_model_path", "")
    kept = f"the last checkpoint, {last}, is kept" if last else "no checkpoint was written"
    return (
        f"training stopped at step {trainer.global_step} (epoch {trainer.current_epoch}): "
        f"{what}{lr_text}; {kept}"
    )


def check_finite_outputs(z: Tensor, where: str) -> None:
    """Refuse NaN or infinite network outputs, which would become arbitrary codes.

    Raises:
        NonFiniteError: naming ``where`` and how many rows are concerned.
    """
    bad = ~torch.isfinite(z).all(dim=-1)
    if bool(bad.any()):
        raise NonFiniteError(
            f"{where}: the model gives NaN or infinite outputs for {int(bad.sum())} of "
            f"{len(z)} images, so it has no codes for them (are its weights finite?)"
        )


def chance_level(q_labels: Tensor, d_labels: Tensor) -> float:
    """Expected mAP of a random ranking: the mean share of relevant database items.

    Relevant means sharing a label; a query without any relevant item counts 0, as in
    the headline convention of :func:`~robust_hashing.metrics.mean_average_precision`
    (its AP@k is also the share, in expectation). Computed on the distinct label vectors,
    so it is cheap on large databases.

    Example:
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> d = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> chance_level(q, d)  # (3/4 + 1/4) / 2
        0.5
    """
    if len(q_labels) == 0 or len(d_labels) == 0:
        return 0.0
    uq, q_count = torch.unique(q_labels.float().cpu(), dim=0, return_counts=True)
    ud, d_count = torch.unique(d_labels.float().cpu(), dim=0, return_counts=True)
    relevant = ((uq @ ud.t()) > 0).double() @ d_count.double()  # per distinct query
    share = relevant / float(len(d_labels))
    return float((share * q_count.double()).sum() / float(len(q_labels)))


def chance_warning(value: float, chance: float, what: str = "clean mAP") -> str | None:
    """The warning for a ``value`` at chance level (``None`` when clearly above it).

    Example:
        >>> chance_warning(0.72, 0.71)
        'clean mAP 0.7200 is at chance level (0.7100 for a random ranking)'
        >>> chance_warning(0.9, 0.71) is None
        True
    """
    if math.isnan(value) or value > chance + CHANCE_MARGIN * (1.0 - chance):
        return None
    return f"{what} {value:.4f} is at chance level ({chance:.4f} for a random ranking)"


def clean_map_warning(report: dict[str, Any], q_labels: Tensor, d_labels: Tensor) -> str | None:
    """:func:`chance_warning` of an attack report's untargeted ``clean_map`` (if it has one)."""
    if "clean_map" not in report:
        return None
    chance = chance_level(q_labels, d_labels)
    return chance_warning(float(report["clean_map"]), chance, "the model's clean mAP")
