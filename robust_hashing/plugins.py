"""Import third-party components so that their registration decorators run.

Two routes, both explicit (no star-import hub), the same for every registry of
:data:`REGISTRIES` (defenses, attacks, hashing losses, backbones, data modules):

* ``--plugin path/to/module.py`` or ``--plugin package.module`` (``robust-hashing
  benchmark`` and ``robust-hashing attack``; also a grid's ``plugins:`` list); the runner
  passes the same list to every worker process.
* installed packages declaring an entry-point group of
  :data:`~robust_hashing.constants.ENTRY_POINT_GROUPS` (``robust_hashing.defenses``,
  ``robust_hashing.attacks``, ...). Each registry loads its group once per process, at its
  first lookup (see :class:`~robust_hashing.registry.Registry`), or all at once by
  :func:`load_entry_points`. An entry point may name a module (whose components register
  themselves with ``@DEFENSES.register("name")`` etc.) or a component, which is registered
  under the entry point's name unless it registered itself.

A plugin module that defines a component class without registering it gets a
:class:`PluginWarning` (the decorator was probably forgotten).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from robust_hashing.attacks.base import ATTACKS
from robust_hashing.datamodules.base import DATAMODULES
from robust_hashing.defenses.base import DEFENSES
from robust_hashing.losses.base import LOSSES
from robust_hashing.models.backbones import BACKBONES
from robust_hashing.registry import PluginError, Registry, describe_error

REGISTRIES: dict[str, Registry[Any]] = {
    "DEFENSES": DEFENSES,
    "ATTACKS": ATTACKS,
    "LOSSES": LOSSES,
    "BACKBONES": BACKBONES,
    "DATAMODULES": DATAMODULES,
}
"""Every registry a plugin may add to (each with its entry-point group), by variable name."""

__all__ = [
    "REGISTRIES",
    "PluginError",
    "PluginWarning",
    "describe_error",
    "import_plugin",
    "load_entry_points",
    "load_plugins",
    "skip_entry_points",
]


class PluginWarning(UserWarning):
    """A plugin that loaded but looks incomplete (a component class it never registered)."""


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def import_plugin(spec: str) -> ModuleType:
    """Import one plugin given as a ``.py`` path or a dotted module name.

    A file is imported once per process under a stable synthetic module name, so importing
    it again (e.g. from the grid and from ``--plugin``) does not register twice.

    Raises:
        PluginError: if the file or module does not exist or fails to import; the message
            is one line naming the plugin and the error (``plugin x.py: SyntaxError: ...``).
    """
    if not _is_path(spec):
        try:
            imported = importlib.import_module(spec)
        except ModuleNotFoundError as err:
            if err.name and (spec == err.name or spec.startswith(err.name + ".")):
                raise PluginError(f"plugin {spec}: cannot import module: {err}") from err
            raise PluginError(f"plugin {spec}: {describe_error(err)}") from err  # inside it
        except Exception as err:
            raise PluginError(f"plugin {spec}: {describe_error(err)}") from err
        _warn_unregistered(spec, imported)
        return imported
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise PluginError(f"plugin {spec}: file not found ({path})")
    name = "robust_hashing_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise PluginError(f"plugin {spec}: not an importable Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise PluginError(f"plugin {spec}: {describe_error(err, path)}") from err
    _warn_unregistered(spec, module)
    return module


def _warn_unregistered(spec: str, module: ModuleType) -> None:
    """Warn about component classes defined in ``module`` but registered nowhere."""
    for variable, registry in REGISTRIES.items():
        for cls_name in registry.unregistered(module):
            warnings.warn(
                f"plugin {spec}: {registry.kind} class {cls_name} is not registered; decorate "
                f"it with @{variable}.register('<name>') to use it in a grid",
                PluginWarning,
                stacklevel=3,
            )


def load_entry_points(registries: Iterable[Registry[Any]] | None = None) -> list[str]:
    """Load the entry points of ``registries`` (default: all) once per process; ``group:name``.

    Raises:
        PluginError: see :meth:`~robust_hashing.registry.Registry.load_entry_points`.
    """
    return [
        f"{registry.entry_point_group}:{name}"
        for registry in (REGISTRIES.values() if registries is None else registries)
        for name in registry.load_entry_points()
    ]


def skip_entry_points() -> None:
    """Never load installed entry points in this process (the runner's ``entry_points=False``).

    Registries whose entry points were already loaded keep them.
    """
    for registry in REGISTRIES.values():
        registry.skip_entry_points()


def load_plugins(specs: list[str] | tuple[str, ...], *, entry_point_groups: bool = True) -> None:
    """Import the installed entry points, then each plugin of ``specs``.

    Without ``entry_point_groups`` the entry points are skipped for the whole process.
    """
    if entry_point_groups:
        load_entry_points()
    else:
        skip_entry_points()
    for spec in specs:
        import_plugin(spec)
