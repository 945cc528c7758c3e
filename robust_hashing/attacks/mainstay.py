"""Mainstay-PGD: SAAT's evaluation attack on the mainstay code (algorithms §5.8).

The guide is the mainstay code b′(y) (DMFL closed form, algorithms §3): positives of the
training sign bank weighted by label cosine, negatives uniformly. With s = h_α(x′) ⊙ b′
per bit:

* untargeted: minimise Σ ω (s + 2) s / Σ ω with ω = 1[s > −0.5] (bits not yet flipped
  far enough keep being pushed towards −1);
* targeted: guide b′(y_t) and minimise −Σ ω (s + 2) s / Σ ω with ω = 1[s < 0.5].

The sums run over the whole batch (the normaliser is irrelevant to sign steps).
Engine: sign-PGD, step 1/255, 100 iterations, random start, A10 schedule.

Theory codes: −b′(y) (untargeted) and b′(y_t) (targeted).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.pgd import SignPGDAttack
from robust_hashing.codes import mainstay_codes


@ATTACKS.register("mainstay")
class Mainstay(SignPGDAttack):
    """Mainstay-code PGD, untargeted or targeted.

    Args:
        model: attacked hash network.
        context: attack context with the training sign bank.
        targeted: attack towards b′(y_t) instead of away from b′(y).
        eps: L∞ budget (8/255).
        seed: seed of the random start.
        steps: PGD iterations (100).
        step: signed step size (1/255).
        random_start: uniform start in the ε-ball (True).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted", "targeted")
    quick: ClassVar[dict[str, Any]] = {"steps": 12}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requires_context()

    def guide(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """b′(y) untargeted, b′(y_t) targeted."""
        ctx = self.requires_context()
        y = targets if self.targeted else labels
        assert y is not None
        return mainstay_codes(y.to(ctx.train_codes), ctx.train_codes, ctx.train_labels)

    def loss(self, h: Tensor, guide: Tensor) -> Tensor:
        """Masked (s + 2) s loss over the whole batch (sign depends on the mode)."""
        s = h * guide
        if self.targeted:
            mask = (s < 0.5).float()
            return -(mask * (s + 2) * s).sum() / mask.sum().clamp_min(1.0)
        mask = (s > -0.5).float()
        return (mask * (s + 2) * s).sum() / mask.sum().clamp_min(1.0)

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """−b′(y) untargeted, b′(y_t) targeted."""
        code = self.guide(images, labels.float(), None if targets is None else targets.float())
        return code if self.targeted else -code
