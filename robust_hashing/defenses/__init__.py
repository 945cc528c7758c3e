"""Adversarial-training defenses as LightningModules, one file each, one registry.

Every defense is a :class:`~robust_hashing.defenses.base.DefenseTask` (itself a
:class:`~robust_hashing.tasks.HashingTask`), so LightningCLI trains it with
``robust-hashing fit --config benchmark/configs/defenses/<name>.yaml``. Names:

* ``none``: :class:`NoDefense`, the clean model (leaderboard baseline row);
* ``atrdh``: :class:`ATRDH` (SIGIR'21, SAAT's port);
* ``cgat``: :class:`CgAT` (WWW'23);
* ``saat``: :class:`SAAT` (TIFS'23);
* ``colo_tride``: :class:`ColoTride` (our Hamming-space port of ICML'24 COLO-TRIDE).

A defense is one module registering its class with ``@DEFENSES.register("name")``, plus one
line in the import block below. Third-party packages register the same way, imported by
``--plugin`` or advertised under the entry-point group ``robust_hashing.defenses`` (loaded
by the first lookup), or are used directly by ``class_path`` in YAML.
"""

from __future__ import annotations

# The built-in defenses: importing a module registers its defense (one line each, sorted).
from robust_hashing.defenses import (  # noqa: F401
    atrdh,
    cgat,
    colo_tride,
    noise_aug,
    none,
    saat,
)
from robust_hashing.defenses.atrdh import ATRDH
from robust_hashing.defenses.base import DEFENSES, DefenseTask
from robust_hashing.defenses.cgat import CgAT
from robust_hashing.defenses.colo_tride import ColoTride
from robust_hashing.defenses.none import NoDefense
from robust_hashing.defenses.saat import SAAT


def list_defenses(pattern: str | None = None) -> list[str]:
    """Sorted registered defense names (fnmatch ``pattern`` optional), plugins included."""
    return DEFENSES.list(pattern)


def grid_defenses() -> list[str]:
    """The defenses ``defenses: all`` expands to: every registered one keeping ``in_all``.

    A sanity baseline (``in_all = False``) is trained only when a grid names it.
    """
    return [name for name in DEFENSES.list() if DEFENSES.get(name).in_all]


def get_defense(name: str) -> type[DefenseTask]:
    """The defense class registered as ``name``.

    Raises:
        KeyError: listing the known names if ``name`` is unknown.
    """
    return DEFENSES.get(name)


__all__ = [
    "ATRDH",
    "DEFENSES",
    "SAAT",
    "CgAT",
    "ColoTride",
    "DefenseTask",
    "NoDefense",
    "get_defense",
    "grid_defenses",
    "list_defenses",
]
