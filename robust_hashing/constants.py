"""Values shared across the package: attack modes, the threat model, entry-point groups.

This module imports nothing, so any module may import it.

Example:
    >>> from robust_hashing.constants import DEFAULT_EPS, MODES, NORM
    >>> MODES, NORM, round(DEFAULT_EPS * 255)
    (('untargeted', 'targeted'), 'linf', 8)
"""

from __future__ import annotations

MODES: tuple[str, str] = ("untargeted", "targeted")
"""Attack modes, untargeted first (the order of grids, records and tables)."""

NORM = "linf"
"""Norm of the threat model: every bounded attack stays in an L∞ ball (protocol)."""

DEFAULT_EPS = 8 / 255
"""Default L∞ budget ε in [0, 1] pixel units, of the attacks and of the inner attacks."""

ATTACK_GROUP = "robust_hashing.attacks"
DEFENSE_GROUP = "robust_hashing.defenses"
LOSS_GROUP = "robust_hashing.losses"
BACKBONE_GROUP = "robust_hashing.backbones"
DATAMODULE_GROUP = "robust_hashing.datamodules"
ENTRY_POINT_GROUPS = (DEFENSE_GROUP, ATTACK_GROUP, LOSS_GROUP, BACKBONE_GROUP, DATAMODULE_GROUP)
"""Entry-point groups of installed packages adding components, one per registry."""
