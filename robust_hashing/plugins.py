"""Import third-party defenses and attacks so that their registration decorators run.

Two routes, both explicit (no star-import hub):

* ``--plugin path/to/module.py`` or ``--plugin package.module`` (``robust-hashing
  benchmark`` and ``robust-hashing attack``; also a grid's ``plugins:`` list); the runner
  passes the same list to every worker process.
* installed packages declaring the entry-point groups ``robust_hashing.defenses`` or
  ``robust_hashing.attacks``. Each entry point is loaded once per process, by the first
  ``list_defenses``/``get_defense`` or ``list_attacks``/``get_attack`` call (or explicitly
  by :func:`load_entry_points`). An entry point may name a module (whose classes register
  themselves with ``@register_defense``/``@register_attack``) or a class, which is
  registered under the entry point's name unless it registered itself.

A plugin module that defines a defense or attack class without registering it gets a
:class:`PluginWarning` (the decorator was probably forgotten).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from robust_hashing.registry import Registry

DEFENSE_GROUP = "robust_hashing.defenses"
ATTACK_GROUP = "robust_hashing.attacks"
ENTRY_POINT_GROUPS = (DEFENSE_GROUP, ATTACK_GROUP)


class PluginError(ImportError):
    """A plugin that cannot be found, imported, or registered."""


class PluginWarning(UserWarning):
    """A plugin that loaded but looks incomplete (a component class it never registered)."""


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def describe_error(err: BaseException, path: Path | None = None) -> str:
    """``Type: message`` on one line.

    A SyntaxError gives its line, and its file unless that is ``path`` (the plugin itself).
    """
    if isinstance(err, SyntaxError):
        where = [f"line {err.lineno}"] if err.lineno else []
        if err.filename and (path is None or Path(err.filename).resolve() != path):
            where.insert(0, str(err.filename))
        return f"{type(err).__name__}: {err.msg}" + (f" ({', '.join(where)})" if where else "")
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


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


def _kinds() -> list[tuple[str, Registry[Any], type, str]]:
    """(kind, registry, base class, decorator) of each pluggable component."""
    from robust_hashing.attacks import ATTACKS, HashAttack
    from robust_hashing.defenses import DEFENSES, DefenseTask

    return [
        ("defense", DEFENSES, DefenseTask, "register_defense"),
        ("attack", ATTACKS, HashAttack, "register_attack"),
    ]


def _warn_unregistered(spec: str, module: ModuleType) -> None:
    """Warn about defense/attack classes defined in ``module`` but registered nowhere."""
    for kind, registry, base, decorator in _kinds():
        registered = {id(registry.get(n)) for n in registry.list()}
        for cls_name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and obj.__module__ == module.__name__
                and issubclass(obj, base)
                and not inspect.isabstract(obj)
                and id(obj) not in registered
            ):
                warnings.warn(
                    f"plugin {spec}: {kind} class {cls_name} is not registered; decorate it "
                    f"with @{decorator}('<name>') to use it in a grid",
                    PluginWarning,
                    stacklevel=3,
                )


def load_entry_point_group(group: str, registry: Registry[Any], base: type) -> list[str]:
    """Load every entry point of ``group``; returns their names.

    An entry point that resolves to a subclass of ``base`` not registered yet is
    registered in ``registry`` under the entry point's name; one resolving to a module is
    only imported (its decorators register its classes).

    Raises:
        PluginError: one line naming the entry point, if it fails to import or resolves
            to a class that is not a ``base`` subclass.
    """
    loaded = []
    for entry in importlib.metadata.entry_points(group=group):
        where = f"entry point {group}:{entry.name} ({entry.value})"
        try:
            obj = entry.load()
        except Exception as err:
            raise PluginError(f"{where}: {describe_error(err)}") from err
        if inspect.isclass(obj):
            if not issubclass(obj, base):
                raise PluginError(f"{where}: {obj.__qualname__} is not a {base.__name__} subclass")
            if not any(registry.get(n) is obj for n in registry.list()):
                try:
                    registry.add(entry.name, obj)
                except ValueError as err:
                    raise PluginError(f"{where}: {err}") from err
                if hasattr(base, "name") and not getattr(obj, "name", ""):
                    cast(Any, obj).name = entry.name  # what @register_attack would have set
        loaded.append(entry.name)
    return loaded


_LOADED: dict[str, list[str]] = {}  # entry-point group -> names loaded in this process


def _group_target(group: str) -> tuple[Registry[Any], type]:
    if group == DEFENSE_GROUP:
        from robust_hashing.defenses import DEFENSES, DefenseTask

        return DEFENSES, DefenseTask
    if group == ATTACK_GROUP:
        from robust_hashing.attacks import ATTACKS, HashAttack

        return ATTACKS, HashAttack
    raise ValueError(f"unknown entry-point group {group!r}; known: {', '.join(ENTRY_POINT_GROUPS)}")


def load_group(group: str, *, reload: bool = False) -> list[str]:
    """Load the entry points of one group of :data:`ENTRY_POINT_GROUPS`, once per process.

    Args:
        group: ``robust_hashing.defenses`` or ``robust_hashing.attacks``.
        reload: load again even if this process already did (tests).

    Returns:
        The names of the group's entry points (empty after :func:`skip_entry_points`).

    Raises:
        PluginError: see :func:`load_entry_point_group`; the group is then retried by the
            next call.
    """
    if group in _LOADED and not reload:
        return list(_LOADED[group])
    registry, base = _group_target(group)
    _LOADED[group] = []  # a plugin that lists components while importing does not recurse
    try:
        _LOADED[group] = load_entry_point_group(group, registry, base)
    except BaseException:
        del _LOADED[group]
        raise
    return list(_LOADED[group])


def skip_entry_points() -> None:
    """Never load installed entry points in this process (the runner's ``entry_points=False``)."""
    for group in ENTRY_POINT_GROUPS:
        _LOADED.setdefault(group, [])


def load_entry_points() -> list[str]:
    """Load every group of :data:`ENTRY_POINT_GROUPS` (once per process); ``group:name`` each."""
    return [f"{g}:{n}" for g in ENTRY_POINT_GROUPS for n in load_group(g)]


def load_plugins(specs: list[str] | tuple[str, ...], *, entry_point_groups: bool = True) -> None:
    """Import the installed entry points, then each plugin of ``specs``.

    Without ``entry_point_groups`` the entry points are marked skipped for this process.
    """
    if entry_point_groups:
        load_entry_points()
    else:
        skip_entry_points()
    for spec in specs:
        import_plugin(spec)
