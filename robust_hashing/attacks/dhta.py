"""DHTA: the P2P attack with an anchor voted from n_t = 9 database codes (algorithms §5.4).

Bai et al. (ECCV 2020) showed that a component-wise majority vote over several codes of
the target class ("anchor code") is a better target than a single code (P2P). Everything
else is shared with :class:`robust_hashing.attacks.p2p.P2P`: sign-PGD with step 1/255,
2000 iterations, δ₀ = 0, A10 schedule, ε = 8/255 in [0, 1] space, loss −(1/K)·hᵀa.

Items whose label **equals** y_t are sampled with replacement by default, as SAAT's
re-implementation (the source of our reference numbers); ``replace=False`` samples without
replacement, as the official DHTA-master, and then all candidates vote if fewer than 9
exist (ours). DHTA-master instead restricts targets to labels with more than n_t database
occurrences; the shared target rule (§5.1) overrides that. See :class:`P2P`.

Theory code: the anchor a.

Example:
    >>> attack = DHTA(model, context)                 # doctest: +SKIP
    >>> adv = attack(images, labels, targets)         # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, ClassVar

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.p2p import P2P


@ATTACKS.register("dhta")
class DHTA(P2P):
    """Targeted anchor-code attack with n_t = 9 (see :class:`P2P` for arguments)."""

    supported_modes: ClassVar[tuple[str, ...]] = ("targeted",)
    quick: ClassVar[dict[str, Any]] = {"steps": 15}
    default_n_t: ClassVar[int] = 9
