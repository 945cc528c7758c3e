"""The sign-gradient PGD engine shared by evaluation attacks and adversarial training.

:func:`pgd` is the bare engine (used by defenses for their inner maximisation);
:class:`SignPGDAttack` is the base of the evaluation attacks built on it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import AttackContext, HashAttack
from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.models import HashNet
from robust_hashing.ops import anneal_a10

LossFn = Callable[[Tensor, int], Tensor]
"""``loss(adv_images, t) -> scalar`` to be **minimised** at iteration ``t``."""


def pgd(
    images: Tensor,
    loss_fn: LossFn,
    *,
    eps: float = DEFAULT_EPS,
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


class SignPGDBase(HashAttack):
    """The sign-PGD parameters (``steps``, ``step``, ``random_start``) and a run of :func:`pgd`.

    Shared by :class:`SignPGDAttack` and the ranking attacks
    (:class:`robust_hashing.attacks.ranking.base.RankingAttack`); a subclass changes the
    defaults by re-declaring the keyword and passing it on.

    Args:
        model, context, targeted, eps, seed: see :class:`HashAttack`.
        steps: PGD iterations T.
        step: signed step size in [0, 1] pixel units.
        random_start: start from a uniform point of the ε-ball (else δ₀ = 0).
    """

    def __init__(
        self,
        model: HashNet,
        context: AttackContext | None = None,
        *,
        targeted: bool = False,
        eps: float = DEFAULT_EPS,
        seed: int = 0,
        steps: int = 100,
        step: float = 1 / 255,
        random_start: bool = True,
    ) -> None:
        super().__init__(model, context, targeted=targeted, eps=eps, seed=seed)
        self.steps, self.step, self.random_start = steps, step, random_start

    def run_pgd(self, images: Tensor, loss_fn: LossFn) -> Tensor:
        """:func:`pgd` on ``loss_fn`` with the attack's budget, step, iterations and start."""
        return pgd(
            images,
            loss_fn,
            eps=self.eps,
            step=self.step,
            steps=self.steps,
            random_start=self.random_start,
            generator=self.generator,
        )


class SignPGDAttack(SignPGDBase):
    """Base of the sign-PGD attacks: a guide code per query and a loss on h_α(x′).

    Subclasses implement :meth:`guide` (m×K ±1 codes) and :meth:`loss`; the run is
    :func:`pgd` with the A10 schedule over ``steps`` iterations. Arguments: see
    :class:`SignPGDBase`.
    """

    quick: ClassVar[dict[str, Any]] = {"steps": 20}

    @abstractmethod
    def guide(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Guide codes (m×K, ±1) the loss pulls towards or pushes away from."""

    @abstractmethod
    def loss(self, h: Tensor, guide: Tensor) -> Tensor:
        """Scalar loss to minimise, given relaxed codes ``h`` = h_α(x′) and the guide."""

    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Run sign-PGD on :meth:`loss` with the A10 schedule."""
        guide = self.guide(images, labels, targets).to(images)

        def closure(adv: Tensor, t: int) -> Tensor:
            return self.loss(self.model(adv, self.alpha(t, self.steps))[1], guide)

        return self.run_pgd(images, closure)
