"""Random sign noise: the sanity floor of every attack (untargeted, bounded).

Each pixel moves by ε or −ε with probability ½ each, independently: a uniformly drawn
vertex of the L∞ ball, the largest perturbation the budget allows, but aimed at nothing.
An attack that lowers mAP no more than this noise has learned nothing from the model,
which is how the attack literature shows that an attack is better than noise. It uses
neither the model's gradients nor the context, and its draws follow ``seed``.

It is a baseline, not an attack of the benchmark: ``attacks: all`` leaves it out
(``in_all = False``); name it to run it (``robust-hashing attack --attack noise`` or
``attacks: [noise]`` in a grid).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS, HashAttack


@ATTACKS.register("noise")
class SignNoise(HashAttack):
    """Random ±ε sign noise on every pixel (the no-information baseline; needs no context).

    Args:
        model: attacked hash network (only its device is used).
        context: unused (accepted for a uniform interface).
        targeted: must be False.
        eps: L∞ budget (8/255); every pixel moves by exactly ±ε before the [0, 1] clamp.
        seed: seed of the noise; the same seed and batches give the same images.

    Example:
        >>> from robust_hashing.models import create_hash_net
        >>> images = torch.full((2, 3, 8, 8), 0.5)
        >>> adv = SignNoise(create_hash_net("test_cnn", 8), eps=0.1)(images, torch.ones(2, 3))
        >>> bool(torch.allclose((adv - images).abs(), torch.tensor(0.1)))
        True
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted",)
    in_all: ClassVar[bool] = False

    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """``images + ε·s`` with signs ``s`` drawn from the attack's generator."""
        draws = torch.randint(0, 2, images.shape, generator=self.generator)
        signs = (2 * draws - 1).to(device=images.device, dtype=images.dtype)
        return images + self.eps * signs
