"""P2P: point-to-point targeted attack on a database anchor code (algorithms §5.4).

For each target label y_t, ``n_t`` database items whose label **equals** y_t are drawn
(the largest-overlap items are the candidates if none, ours) and voted bit by bit into an
anchor a = sgn Σ b_i.

Sampling (``replace``): **with replacement by default**, as SAAT's re-implementation
(xandery-geek/SAAT ``dhta.py``: ``np.random.choice(candidates, size=n_t)``), the source of
our reference numbers (SAAT Table I): n_t uniform draws, a row drawn twice votes twice, and
n_t codes vote even when fewer candidates exist. ``replace=False`` samples without
replacement, as the official jiawangbai/DHTA-master (``replace=False``; all candidates vote
if fewer than n_t exist, ours; DHTA-master only targets labels with more than n_t items).
Both draws are :func:`robust_hashing.codes.anchor_codes`.

The attack minimises −(1/K)·h_α(x′)ᵀa, averaged over the batch, by sign-PGD with step 1/255,
2000 iterations, no random start and the A10 schedule (the original DHTA schedule).

P2P uses n_t = 1; DHTA (:mod:`robust_hashing.attacks.dhta`) uses n_t = 9.

Budget: 8/255 in [0, 1] pixel space (SAAT's re-implementation uses 0.032 there; the
official DHTA code uses 0.032 in normalised units with ℓ2-normalised steps).

Anchors are drawn with a generator seeded by ``seed`` at every call, so the anchors of a
batch are reproducible and :meth:`theory_codes` returns exactly the anchors attacked.

Theory code: the anchor a itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.pgd import SignPGDAttack
from robust_hashing.codes import anchor_codes


@ATTACKS.register("p2p")
class P2P(SignPGDAttack):
    """Targeted anchor-code attack with ``n_t`` voted database codes.

    Args:
        model: attacked hash network.
        context: attack context with the database codes and labels.
        targeted: must be True (targeted only).
        eps: L∞ budget (8/255).
        seed: seed of the anchor draws.
        steps: PGD iterations (2000).
        step: signed step size (1/255).
        random_start: False (δ₀ = 0), as published.
        n_t: number of database codes voted into the anchor (1 for P2P).
        replace: draw the n_t rows with replacement (True, SAAT's port) or without
            (False, DHTA-master).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("targeted",)
    quick: ClassVar[dict[str, Any]] = {"steps": 15}
    default_n_t: ClassVar[int] = 1

    def __init__(
        self,
        *args: Any,
        targeted: bool = True,
        steps: int = 2000,
        random_start: bool = False,
        n_t: int | None = None,
        replace: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, targeted=targeted, steps=steps, random_start=random_start, **kwargs)
        self.n_t = self.default_n_t if n_t is None else n_t
        self.replace = replace
        self.requires_context()

    def guide(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Anchor codes of the targets (same draw for the same batch)."""
        if targets is None:
            raise ValueError(f"attack {self.name!r} needs target labels")
        ctx = self.requires_context()
        gen = torch.Generator().manual_seed(self.seed)
        return anchor_codes(
            targets, ctx.db_codes, ctx.db_labels, self.n_t, gen, replace=self.replace
        )

    def loss(self, h: Tensor, guide: Tensor) -> Tensor:
        """−(1/K)·hᵀa averaged over the batch."""
        return -(h * guide).sum(dim=1).mean() / h.shape[1]

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """The anchors a."""
        return self.guide(images, labels, None if targets is None else targets.float())
