"""The one registry pattern: a name → component table per kind, checked, with plugins.

Every kind of component (attacks, defenses, hashing losses, backbones, data modules)
declares its registry next to its base class, the same way::

    ATTACKS = Registry("attack", base=HashAttack, entry_point_group=ATTACK_GROUP)

and a built-in registers itself with ``@ATTACKS.register("name")`` in its own module,
imported by the one import block of its package ``__init__``. Registering checks the
object at once (a subclass of ``base``, or a callable when there is no ``base``) and a
name registered twice raises. The entry points of installed packages under
``entry_point_group`` are loaded lazily, once per process, by the first lookup
(:meth:`Registry.get`, :meth:`Registry.list`, ``in``); :meth:`Registry.skip_entry_points`
turns that off. :func:`accepted_hp` tells which keyword hyper-parameters a registered class accepts.

Example:
    >>> class Base: ...
    >>> THINGS = Registry("thing", base=Base)
    >>> @THINGS.register("one")
    ... class One(Base): ...
    >>> THINGS.get("one") is One, THINGS.list()
    (True, ['one'])
"""

from __future__ import annotations

import builtins
import fnmatch
import importlib.metadata
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PluginError(ImportError):
    """A plugin or entry point that cannot be found, imported, or registered."""


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


class Registry(Generic[T]):
    """Named components of one kind (attacks, defenses, losses, backbones, data modules).

    Args:
        kind: human-readable kind, used in error messages (``"attack"``).
        base: every registered object must be a subclass of it; None: any callable
            (e.g. the backbone factories).
        entry_point_group: entry-point group of installed packages adding components of
            this kind (see :mod:`robust_hashing.constants`); None: no entry points.
        name_attr: class attribute set to the registered name on registration (the
            attacks' ``name``); None: none.
    """

    def __init__(
        self,
        kind: str,
        *,
        base: type | None = None,
        entry_point_group: str | None = None,
        name_attr: str | None = None,
    ) -> None:
        self.kind = kind
        self.base = base
        self.entry_point_group = entry_point_group
        self.name_attr = name_attr
        self._entries: dict[str, T] = {}
        self._entry_points: list[str] | None = None  # names loaded; None: not yet

    # -- registration ----------------------------------------------------------------------
    def register(self, name: str, *, override: bool = False) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name``.

        Raises:
            TypeError: if the argument is not a ``base`` subclass (not callable without a base).
            ValueError: if ``name`` is already registered and ``override`` is false.
        """

        def decorator(obj: T) -> T:
            self.add(name, obj, override=override)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, override: bool = False) -> None:
        """Register ``obj`` under ``name`` (see :meth:`register`)."""
        problem = self.check(obj)
        if problem:
            raise TypeError(f"{self.kind} {name!r}: {problem}")
        if not name or name != name.strip():
            raise ValueError(f"invalid {self.kind} name {name!r}")
        if name in self._entries and not override and self._entries[name] is not obj:
            raise ValueError(
                f"{self.kind} {name!r} is already registered "
                f"(by {_describe(self._entries[name])}); pass override=True to replace it"
            )
        self._entries[name] = obj
        if self.name_attr is not None:
            setattr(obj, self.name_attr, name)

    def check(self, obj: object) -> str | None:
        """Why ``obj`` cannot be registered here, or None when it can."""
        if self.base is None:
            return None if callable(obj) else f"{_describe(obj)} is not callable"
        if isinstance(obj, type) and issubclass(obj, self.base):
            return None
        return f"{_describe(obj)} is not a subclass of {_describe(self.base)}"

    def remove(self, name: str) -> None:
        """Unregister ``name`` (used by tests and plugin reloads)."""
        self._entries.pop(name, None)

    # -- lookups (each loads the entry points first) --------------------------------------
    def get(self, name: str) -> T:
        """Return the entry called ``name``.

        Raises:
            KeyError: with the list of known names if ``name`` is unknown.
            PluginError: if an entry point of the group fails to load.
        """
        self.load_entry_points()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def list(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by an fnmatch ``pattern``."""
        self.load_entry_points()
        names = sorted(self._entries)
        if pattern is None:
            return names
        return [n for n in names if fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        self.load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self.list())

    # -- entry points ----------------------------------------------------------------------
    def load_entry_points(self, *, reload: bool = False) -> builtins.list[str]:
        """Load the entry points of :attr:`entry_point_group` once per process; their names.

        An entry point may name a module (imported: its decorators register its
        components) or a component, registered under the entry point's name unless it is
        registered already.

        Args:
            reload: load again even if this process already did (tests).

        Raises:
            PluginError: one line naming the entry point, if it fails to import or resolves
                to something this registry refuses; the group is then retried by the next
                lookup.
        """
        if self.entry_point_group is None:
            return []
        if self._entry_points is not None and not reload:
            return list(self._entry_points)
        self._entry_points = []  # a plugin listing components while importing does not recurse
        try:
            self._entry_points = self._load_group(self.entry_point_group)
        except BaseException:
            self._entry_points = None
            raise
        return list(self._entry_points)

    def skip_entry_points(self) -> None:
        """Never load the entry points in this process (unless already loaded)."""
        if self._entry_points is None:
            self._entry_points = []

    def _load_group(self, group: str) -> builtins.list[str]:
        loaded = []
        for entry in importlib.metadata.entry_points(group=group):
            where = f"entry point {group}:{entry.name} ({entry.value})"
            try:
                obj = entry.load()
            except Exception as err:
                raise PluginError(f"{where}: {describe_error(err)}") from err
            if not isinstance(obj, ModuleType) and not self._is_registered(obj):
                try:
                    self.add(entry.name, obj)
                except (TypeError, ValueError) as err:
                    raise PluginError(f"{where}: {err}") from err
            loaded.append(entry.name)
        return loaded

    def _is_registered(self, obj: object) -> bool:
        return any(entry is obj for entry in self._entries.values())

    def unregistered(self, module: ModuleType) -> builtins.list[str]:
        """Names of the concrete ``base`` subclasses defined in ``module`` but not registered."""
        if self.base is None:
            return []
        return [
            name
            for name, obj in vars(module).items()
            if inspect.isclass(obj)
            and obj.__module__ == module.__name__
            and issubclass(obj, self.base)
            and not inspect.isabstract(obj)
            and not self._is_registered(obj)
        ]


def _describe(obj: object) -> str:
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None)
    if qual is None:
        return repr(obj)
    return f"{module}.{qual}" if module and module != "builtins" else qual


def accepted_hp(cls: Any) -> set[str] | None:
    """Keyword arguments ``cls(...)`` accepts by name, or None when any name may be accepted.

    An ``__init__`` taking ``**kwargs`` is taken to hand them to its base class (as every
    defense and attack here does), so the names of the base classes' ``__init__`` count too;
    the answer is None when that chain ends in ``object`` or in an ``__init__`` without a
    Python signature, and for a class that defines no ``__init__`` at all.
    """
    names: set[str] = set()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    for klass in getattr(cls, "__mro__", ()):
        init = vars(klass).get("__init__")
        if init is None:
            continue
        if klass is object:
            return None
        try:
            params = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            return None
        names.update(p.name for p in params[1:] if p.kind in named)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return names
    return None
