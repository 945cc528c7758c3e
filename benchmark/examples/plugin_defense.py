"""Example plugin defense: fine-tuning on randomly perturbed images (``example_noise``).

A third-party defense is one module with one class subclassing
:class:`robust_hashing.defenses.base.DefenseTask`, registered by name with
``@DEFENSES.register("name")``, exactly as the built-in defenses are. It joins the grid
with no change to robust_hashing::

    robust-hashing benchmark --grid benchmark/quick.yaml --plugin benchmark/examples/plugin_defense.py

(or ``--plugin my_lab.defenses`` for an importable module, or an installed package declaring
the ``robust_hashing.defenses`` entry-point group). With ``defenses: all`` the new name is
picked up automatically; otherwise list it under ``defenses:`` in the grid.

The defense itself is a weak baseline on purpose: the hashing loss on x + U(-ε, ε) noise
(no inner attack), so its row shows how much a real adversarial defense adds.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.defenses.base import DEFENSES, DefenseTask


@DEFENSES.register("example_noise")
class ExampleNoise(DefenseTask):
    """Random-noise augmentation fine-tuning (example plugin, not from a paper).

    Args:
        noise_eps: half-width of the uniform pixel noise added to every training image.
        **kwargs: :class:`~robust_hashing.defenses.base.DefenseTask` arguments
            (``clean_checkpoint``, ``backbone``, ``bits``, ``loss``, ``lr``, ...).
    """

    quick: ClassVar[dict[str, Any]] = {}

    def __init__(self, noise_eps: float = DEFAULT_EPS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.save_hyperparameters()

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Hashing loss on the noisy batch (banks updated with the noisy outputs)."""
        x, y, idx = batch
        eps = self.hparams.noise_eps
        noisy = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        _, loss = self.clean_step(noisy, y, idx)
        self.log_terms(loss, len(x))
        return loss
