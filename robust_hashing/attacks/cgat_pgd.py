"""CgAT-PGD: untargeted sign-PGD away from the CgAT center code (algorithms §5.7).

The guide is the center code b̂(y) = sgn(mean_P b_j − mean_N b_j) of the query's true
label, computed from the attacked model's training sign bank (eval mode). The attack
minimises +mean(h_α(x′) ⊙ b̂), i.e. pushes every bit of the query code away from its
semantic center, which is CgAT's plain training objective used as an evaluation attack.

Engine (ours, CgAT's own evaluation schedule is unverified): sign-PGD with step 1/255,
100 iterations, uniform random start in the ε-ball and the A10 tanh schedule.

Theory code: −b̂(y), the exact opposite of the center.

Example:
    >>> attack = CgATPGD(model, context)              # doctest: +SKIP
    >>> adv = attack(images, labels)                  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.pgd import SignPGDAttack
from robust_hashing.codes import center_codes


@ATTACKS.register("cgat_pgd")
class CgATPGD(SignPGDAttack):
    """Untargeted center-code PGD (CgAT evaluation form).

    Args:
        model: attacked hash network.
        context: attack context with the training sign bank.
        targeted: must be False (untargeted only).
        eps: L∞ budget (8/255).
        seed: seed of the random start.
        steps: PGD iterations (100).
        step: signed step size (1/255).
        random_start: uniform start in the ε-ball (True).
        jaccard: Jaccard-weighted positives when building the center (ablation flag).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted",)
    quick: ClassVar[dict[str, Any]] = {"steps": 12}

    def __init__(self, *args: Any, jaccard: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jaccard = jaccard
        self.requires_context()

    def guide(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Center codes b̂(y) of the true labels."""
        ctx = self.requires_context()
        return center_codes(
            labels.to(ctx.train_codes), ctx.train_codes, ctx.train_labels, jaccard=self.jaccard
        )

    def loss(self, h: Tensor, guide: Tensor) -> Tensor:
        """+mean(h_α ⊙ b̂): minimised when every bit opposes the center."""
        return (h * guide).mean()

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """−b̂(y)."""
        return -self.guide(images, labels.float(), targets)
