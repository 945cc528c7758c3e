"""SDHA: smart deep-hashing attack with a smooth Hamming surrogate (algorithms §5.3).

The image is optimised by Adam (lr 0.01, 1500 iterations, A10 schedule, projected onto
the ε-ball and [0, 1]) on MSE(x′, x) + (25/K)·S with q = h_α(x′) and bank codes r:

* untargeted: S = −(1/m) Σ_i mean_{j∈P_i} w_ij·D̃(q_i, r_j), P_i = training rows sharing a
  label with query i (the clean code if none), D̃(q, r) = ½Σ_k |q_k − r_k|σ(5q_kr_k) +
  Σ_k (1 − σ(5q_kr_k)), w_ij = (D_H(sgn q_i, r_j) + 1e-8)^(−0.5);
* targeted: P_t built from y_t, S = (1/m) Σ_i mean_{j∈P_t} w_ij·½Σ_k |q_k − r_k|σ(−10q_kr_k),
  w_ij = (D_H + 1e-8)^0.3. If y_t has no training positive, the database rows sharing a
  label with it are used (ours).

Weights are constants (no gradient). Because r_k = ±1 and |q_k| < 1, |q_k − r_k| =
1 − q_kr_k, so every surrogate is f(q)·[r=+1] + f(−q)·[r=−1] summed over bits: two
matrix products against the bank instead of an m×N×K tensor.

Theory codes (ours): −sgn Σ_{P_i} b_j (untargeted), +sgn Σ_{P_t} b_j (targeted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS, AttackContext, HashAttack
from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.models import HashNet
from robust_hashing.ops import hamming_distance, label_overlap, sign


def _bitwise(q: Tensor, bank: Tensor, f: Callable[[Tensor], Tensor]) -> Tensor:
    """Σ_k f(q_k r_k) for every (query, bank row) pair, using r_k ∈ {±1}."""
    return f(q) @ ((1 + bank) / 2).t() + f(-q) @ ((1 - bank) / 2).t()


@ATTACKS.register("sdha")
class SDHA(HashAttack):
    """SDHA, untargeted or targeted.

    Args:
        model, context, targeted, eps, seed: see :class:`HashAttack`.
        steps: Adam iterations (1500).
        lr: Adam learning rate on the image (0.01).
        weight: coefficient of the Hamming term, divided by K (25).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted", "targeted")
    quick: ClassVar[dict[str, Any]] = {"steps": 15}

    def __init__(
        self,
        model: HashNet,
        context: AttackContext | None = None,
        *,
        targeted: bool = False,
        eps: float = DEFAULT_EPS,
        seed: int = 0,
        steps: int = 1500,
        lr: float = 0.01,
        weight: float = 25.0,
    ) -> None:
        super().__init__(model, context, targeted=targeted, eps=eps, seed=seed)
        self.steps, self.lr, self.weight = steps, lr, weight
        self.requires_context()

    def _positives(
        self, images: Tensor, labels: Tensor, targets: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """(bank, mask m×N') with the fallback rows appended to the training bank."""
        ctx = self.requires_context()
        if self.targeted:
            assert targets is not None
            y = targets.to(ctx.train_labels)
            pos, fb = label_overlap(y, ctx.train_labels), label_overlap(y, ctx.db_labels)
            extra = ctx.db_codes
        else:
            pos = label_overlap(labels.to(ctx.train_labels), ctx.train_labels)
            extra = self.model.encode(images)
            fb = torch.eye(len(images), device=pos.device)
        empty = (pos.sum(dim=1, keepdim=True) == 0).float()
        return torch.cat([ctx.train_codes, extra]), torch.cat([pos, fb * empty], dim=1)

    def _hamming_term(self, q: Tensor, bank: Tensor, mask: Tensor) -> Tensor:
        with torch.no_grad():
            dist = hamming_distance(sign(q), bank) + 1e-8
            w = dist.pow(0.3) if self.targeted else dist.pow(-0.5)
        if self.targeted:
            d = _bitwise(q, bank, lambda u: 0.5 * (1 - u) * torch.sigmoid(-10 * u))
        else:
            d = _bitwise(q, bank, lambda u: 0.5 * (1 - u) * torch.sigmoid(5 * u))
            d = d + _bitwise(q, bank, lambda u: 1 - torch.sigmoid(5 * u))
        per_query = (mask * w * d).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
        return per_query.mean() if self.targeted else -per_query.mean()

    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Adam on the image, projected after every step."""
        bank, mask = self._positives(images, labels.to(images), targets)
        adv = images.clone().requires_grad_(True)
        opt = torch.optim.Adam([adv], lr=self.lr)
        k = self.model.bits
        for t in range(self.steps):
            with torch.enable_grad():
                q = self.model(adv, self.alpha(t, self.steps))[1]
                loss = F.mse_loss(adv, images) + self.weight / k * self._hamming_term(q, bank, mask)
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
        """∓ sgn of the summed positive codes (with the same fallbacks as the attack)."""
        bank, mask = self._positives(images, labels.float().to(images), targets)
        code = sign(mask @ bank)
        return code if self.targeted else -code
