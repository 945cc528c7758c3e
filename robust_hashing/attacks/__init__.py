"""Adversarial attacks on deep hash models (algorithms §5).

Every attack is a plain :class:`HashAttack` object registered in :data:`ATTACKS`:

    >>> from robust_hashing.attacks import get_attack, list_attacks
    >>> attack = get_attack("mainstay", model, context, targeted=True)  # doctest: +SKIP
    >>> adv = attack(images, labels, targets)                          # doctest: +SKIP

Third-party attacks register themselves with :func:`register_attack` when imported;
the modules (or classes) advertised under the entry-point group ``robust_hashing.attacks``
are loaded by the first :func:`list_attacks` / :func:`get_attack` call (see
:mod:`robust_hashing.plugins`).
"""

from __future__ import annotations

from typing import Any

from robust_hashing.attacks import cgat_pgd, dhta, hag, mainstay, p2p, prosgan, ranking, sdha, tha
from robust_hashing.attacks.base import (
    ATTACKS,
    AttackContext,
    HashAttack,
    register_attack,
    unique_target_pool,
)
from robust_hashing.attacks.pgd import SignPGDAttack, pgd
from robust_hashing.attacks.targets import draw_target_labels, load_or_draw_targets
from robust_hashing.models import HashNet

_BUILTIN = (cgat_pgd, dhta, hag, mainstay, p2p, prosgan, ranking, sdha, tha)


def list_attacks(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered attacks (plugins included), fnmatch ``pattern`` optional."""
    load_attack_plugins()
    return ATTACKS.list(pattern)


def get_attack(
    name: str,
    model: HashNet,
    context: AttackContext | None = None,
    *,
    quick: bool = False,
    **hp: Any,
) -> HashAttack:
    """Build the attack called ``name``.

    Args:
        name: registered attack name (see :func:`list_attacks`).
        model: attacked hash network.
        context: banks and database of the attacked model.
        quick: start from the attack's ``quick`` overrides (fewer iterations).
        **hp: keyword hyper-parameters (``targeted``, ``eps``, ``seed``, ``steps``, ...);
            they take precedence over the ``quick`` overrides.
    """
    load_attack_plugins()
    cls = ATTACKS.get(name)
    kwargs = {**(cls.quick if quick else {}), **hp}
    return cls(model, context, **kwargs)


def load_attack_plugins(*, reload: bool = False) -> list[str]:
    """Load the ``robust_hashing.attacks`` entry points once per process; their names.

    An entry point may name a module whose attacks register themselves, or a
    :class:`HashAttack` subclass, registered under the entry point's name unless it
    registered itself (see :mod:`robust_hashing.plugins`).
    """
    from robust_hashing.plugins import ATTACK_GROUP, load_group

    return load_group(ATTACK_GROUP, reload=reload)


_LAZY = {
    "AttackEvaluation": "robust_hashing.attacks.evaluation",
    "build_context": "robust_hashing.attacks.context",
}


def __getattr__(name: str) -> Any:
    """Lazily import the Lightning-facing helpers (keeps ``import robust_hashing.attacks`` light)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ATTACKS",
    "AttackContext",
    "AttackEvaluation",
    "HashAttack",
    "SignPGDAttack",
    "build_context",
    "draw_target_labels",
    "get_attack",
    "list_attacks",
    "load_attack_plugins",
    "load_or_draw_targets",
    "pgd",
    "register_attack",
    "unique_target_pool",
]
