"""Noise augmentation: the sanity baseline of the adversarial-training defenses."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.defenses.base import DEFENSES, DefenseTask


@DEFENSES.register("noise_aug")
class NoiseAugmentation(DefenseTask):
    """Fine-tuning on uniformly noise-augmented images within the budget (no inner attack).

    Each training image becomes ``clip(x + u, 0, 1)`` with ``u ~ U(−ε, ε)`` drawn per pixel
    (ε = ``attack_eps``), and the step minimises the plain hashing loss on it, banks updated
    with the noisy outputs. This is the classic control of adversarial training: it sees as
    much perturbation as a defense does, but never a worst-case one, so a defense that is
    not more robust than this row gains nothing from its inner attack.

    A baseline, not a defense of the benchmark: ``defenses: all`` leaves it out
    (``in_all = False``); name it in a grid (``defenses: [none, noise_aug]``) to train it.

    Args:
        **kwargs: :class:`~robust_hashing.defenses.base.DefenseTask` arguments; only
            ``attack_eps`` (the noise half-width, 8/255) matters of the inner-attack ones.

    Example:
        >>> task = NoiseAugmentation(backbone="test_cnn", bits=16, num_train=32, num_classes=5)
        >>> round(task.hparams.attack_eps * 255)
        8
    """

    quick: ClassVar[dict[str, Any]] = {"limit_train_batches": 0.5}
    in_all: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def noisy(self, x: Tensor) -> Tensor:
        """``clip(x + U(−ε, ε), 0, 1)`` with ε = ``attack_eps``."""
        eps = self.hparams["attack_eps"]
        return (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Hashing loss on the noise-augmented ``(x, y, idx)``."""
        x, y, idx = batch
        _, loss = self.clean_step(self.noisy(x), y, idx)
        self.log_terms(loss, len(x), loss_hash=loss)
        return loss
