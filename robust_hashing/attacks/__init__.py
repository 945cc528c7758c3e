"""Adversarial attacks on deep hash models (algorithms §5).

Every attack is a plain :class:`HashAttack` object registered in :data:`ATTACKS`:

    >>> from robust_hashing.attacks import get_attack, list_attacks
    >>> attack = get_attack("mainstay", model, context, targeted=True)  # doctest: +SKIP
    >>> adv = attack(images, labels, targets)                          # doctest: +SKIP

An attack is one module registering its class with ``@ATTACKS.register("name")``, plus
one line in the import block below. Third-party attacks register the same way when
imported (``--plugin``); the modules (or classes) advertised under the entry-point group
``robust_hashing.attacks`` are loaded by the first lookup (see :mod:`robust_hashing.plugins`).
"""

from __future__ import annotations

from typing import Any

# The built-in attacks: importing a module registers its attacks (one line each, sorted).
from robust_hashing.attacks import (  # noqa: F401
    cgat_pgd,
    dhta,
    hag,
    mainstay,
    noise,
    p2p,
    prosgan,
    ranking,
    sdha,
    tha,
)
from robust_hashing.attacks.base import ATTACKS, AttackContext, HashAttack, unique_target_pool
from robust_hashing.attacks.pgd import SignPGDAttack, pgd
from robust_hashing.attacks.targets import draw_target_labels, load_or_draw_targets
from robust_hashing.models import HashNet


def list_attacks(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered attacks (plugins included), fnmatch ``pattern`` optional."""
    return ATTACKS.list(pattern)


def grid_attacks() -> list[str]:
    """The attacks ``all`` expands to (grids, ``robust-hashing attack --attack all``).

    Every registered attack of the mAP protocol whose class keeps ``in_all``: not the
    ranking attacks (``protocol = "ranking"``, scored by their own protocol) nor the sanity
    baselines (``in_all = False``, run only when named).
    """
    return [
        name
        for name in ATTACKS.list()
        if ATTACKS.get(name).in_all and getattr(ATTACKS.get(name), "protocol", "") != "ranking"
    ]


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
    cls = ATTACKS.get(name)
    kwargs = {**(cls.quick if quick else {}), **hp}
    return cls(model, context, **kwargs)


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
    "grid_attacks",
    "list_attacks",
    "load_or_draw_targets",
    "pgd",
    "unique_target_pool",
]
