"""The sign-gradient PGD engine shared by evaluation attacks and adversarial training."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from robust_hashing.ops import anneal_a10

LossFn = Callable[[Tensor, int], Tensor]
"""``loss(adv_images, t) -> scalar`` to be **minimised** at iteration ``t``."""


def pgd(
    images: Tensor,
    loss_fn: LossFn,
    *,
    eps: float = 8 / 255,
    step: float = 2 / 255,
    steps: int = 7,
    random_start: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Minimise ``loss_fn`` over the L∞ ball of radius ``eps`` around ``images`` (algorithms §0).

    Each iteration takes a signed-gradient step of size ``step``, then projects onto the
    ε-ball and onto [0, 1]. Only the perturbation receives gradients; parameter gradients
    produced by ``loss_fn`` are left untouched (callers run under ``torch.enable_grad``).

    Returns:
        Detached adversarial images in [0, 1] with ‖x′ − x‖∞ ≤ eps.
    """
    x = images.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, device="cpu").to(x) * 2 - 1
        delta = noise * eps
    else:
        delta = torch.zeros_like(x)
    delta = (x + delta).clamp(0, 1) - x
    for t in range(steps):
        delta.requires_grad_(True)
        with torch.enable_grad():
            loss = loss_fn(x + delta, t)
            (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = (delta - step * grad.sign()).clamp(-eps, eps)
            delta = (x + delta).clamp(0, 1) - x
    return (x + delta).detach()


def a10_alpha(steps: int) -> Callable[[int], float]:
    """The A10 annealing schedule for a run of ``steps`` iterations, as ``t -> α``."""
    return lambda t: anneal_a10(t, steps)
