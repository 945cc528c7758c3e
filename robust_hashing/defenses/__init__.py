"""Adversarial-training defenses as LightningModules, one file each, one registry.

Every defense is a :class:`~robust_hashing.defenses.base.DefenseTask` (itself a
:class:`~robust_hashing.tasks.HashingTask`), so LightningCLI trains it with
``robust-hashing fit --config benchmark/configs/defenses/<name>.yaml``. Names:

* ``none``: :class:`NoDefense`, the clean model (leaderboard baseline row);
* ``atrdh``: :class:`ATRDH` (SIGIR'21, SAAT's port);
* ``cgat``: :class:`CgAT` (WWW'23);
* ``saat``: :class:`SAAT` (TIFS'23);
* ``colo_tride``: :class:`ColoTride` (our Hamming-space port of ICML'24 COLO-TRIDE).

Third-party packages may register more under the entry-point group
``robust_hashing.defenses`` (each entry point is imported once, registering itself with
:func:`register_defense`), or be used directly by ``class_path`` in YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from robust_hashing.registry import Registry

if TYPE_CHECKING:
    from robust_hashing.defenses.base import DefenseTask

ENTRY_POINT_GROUP = "robust_hashing.defenses"
DEFENSES: Registry[type[DefenseTask]] = Registry("defense")


def register_defense(
    name: str, *, override: bool = False
) -> Callable[[type[DefenseTask]], type[DefenseTask]]:
    """Class decorator registering a defense under ``name``.

    Raises:
        ValueError: if ``name`` is taken (unless ``override``).
        TypeError: if the class is not a :class:`DefenseTask` subclass.
    """

    def decorator(cls: type[DefenseTask]) -> type[DefenseTask]:
        from robust_hashing.defenses.base import DefenseTask

        if not (isinstance(cls, type) and issubclass(cls, DefenseTask)):
            raise TypeError(
                f"register_defense({name!r}): {getattr(cls, '__qualname__', cls)!s} is not a "
                "subclass of robust_hashing.defenses.DefenseTask"
            )
        DEFENSES.add(name, cls, override=override)
        return cls

    return decorator


def load_defense_plugins(*, reload: bool = False) -> list[str]:
    """Load the ``robust_hashing.defenses`` entry points once per process; their names.

    See :mod:`robust_hashing.plugins`.
    """
    from robust_hashing.plugins import load_group

    return load_group(ENTRY_POINT_GROUP, reload=reload)


def list_defenses(pattern: str | None = None) -> list[str]:
    """Sorted registered defense names (fnmatch ``pattern`` optional), plugins included."""
    load_defense_plugins()
    return DEFENSES.list(pattern)


def get_defense(name: str) -> type[DefenseTask]:
    """The defense class registered as ``name``.

    Raises:
        KeyError: listing the known names if ``name`` is unknown.
    """
    load_defense_plugins()
    return DEFENSES.get(name)


from robust_hashing.defenses.atrdh import ATRDH
from robust_hashing.defenses.base import DefenseTask
from robust_hashing.defenses.cgat import CgAT
from robust_hashing.defenses.colo_tride import ColoTride
from robust_hashing.defenses.none import NoDefense
from robust_hashing.defenses.saat import SAAT

__all__ = [
    "ATRDH",
    "DEFENSES",
    "SAAT",
    "CgAT",
    "ColoTride",
    "DefenseTask",
    "NoDefense",
    "get_defense",
    "list_defenses",
    "load_defense_plugins",
    "register_defense",
]
