"""HAG: Hamming-space adversarial generation (Yang et al., T-Cybernetics 2020; algorithms §5.2).

Untargeted. Let o = h₁(x) be the clean relaxed output and h′ = h_α(x′). Bits already
pushed past the opposite side by more than 0.5 leave the loss through the mask
ω_k = 1[|h′_k − sgn o_k| < 1.5]. The per-sample loss

    ℓ = (Σ_k ω_k h′_k o_k / Σ_k ω_k + 1)² + β·(mean_k ω_k h′_k)²,   β = 1,

drives the masked correlation with the clean output to −1 while keeping the code
balanced. The balance term, too, is taken on the masked code ω ⊙ h′ (mean over all K
bits), as in the reference (xandery-geek/SAAT ``hag.py`` masks the code before both
terms). The image itself is optimised by SGD (lr 100, momentum 0.9) for 2000
iterations under the A10 schedule, projecting onto the ε-ball and [0, 1] after each step.

Quirk fixed (spec): the reference averages ℓ over an attack batch of 128 before stepping
with lr 100, so its step depends on the batch size; we minimise Σ_batch ℓ / 128.

Theory code: −b(x), the complement of the clean code.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS, AttackContext, HashAttack
from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.models import HashNet
from robust_hashing.ops import sign


@ATTACKS.register("hag")
class HAG(HashAttack):
    """Untargeted HAG attack (needs no context).

    Args:
        model: attacked hash network.
        context: unused (accepted for a uniform interface).
        targeted: must be False.
        eps: L∞ budget (8/255).
        seed: unused (HAG is deterministic).
        steps: SGD iterations (2000).
        lr: SGD learning rate on the image (100).
        momentum: SGD momentum (0.9).
        beta: weight of the balance term (1).
        norm: loss normaliser replacing the reference's batch mean (128).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted",)
    quick: ClassVar[dict[str, Any]] = {"steps": 15}

    def __init__(
        self,
        model: HashNet,
        context: AttackContext | None = None,
        *,
        targeted: bool = False,
        eps: float = DEFAULT_EPS,
        seed: int = 0,
        steps: int = 2000,
        lr: float = 100.0,
        momentum: float = 0.9,
        beta: float = 1.0,
        norm: float = 128.0,
    ) -> None:
        super().__init__(model, context, targeted=targeted, eps=eps, seed=seed)
        self.steps, self.lr, self.momentum = steps, lr, momentum
        self.beta, self.norm = beta, norm

    def loss(self, h: Tensor, clean: Tensor) -> Tensor:
        """Σ_batch ℓ / ``norm`` for relaxed codes ``h`` and clean outputs ``clean``."""
        mask = ((h - sign(clean)).abs() < 1.5).float().detach()
        corr = (mask * h * clean).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
        per_sample = (corr + 1).pow(2) + self.beta * (mask * h).mean(dim=1).pow(2)
        return per_sample.sum() / self.norm

    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """SGD with momentum on the image, projected after every step."""
        with torch.no_grad():
            clean = self.model(images)[1]
        adv = images.clone().requires_grad_(True)
        opt = torch.optim.SGD([adv], lr=self.lr, momentum=self.momentum)
        for t in range(self.steps):
            with torch.enable_grad():
                loss = self.loss(self.model(adv, self.alpha(t, self.steps))[1], clean)
                (grad,) = torch.autograd.grad(loss, adv)
            adv.grad = grad
            opt.step()
            with torch.no_grad():
                adv.copy_(torch.min(torch.max(adv, images - self.eps), images + self.eps))
                adv.clamp_(0, 1)
        return adv.detach()

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """−b(x)."""
        return -self.model.encode(images)
