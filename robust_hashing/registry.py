"""A tiny name → factory registry, one instance per kind of component.

Modelled on timm's registries, but strict: registering a name twice raises unless
``override=True``. Lookups accept exact names; :meth:`Registry.list` accepts
fnmatch wildcards. :func:`accepted_hp` tells which keyword hyper-parameters a registered
class accepts (the benchmark's grid check and the attack CLI use it).

Example:
    >>> ATTACKS = Registry("attack")
    >>> @ATTACKS.register("hag")
    ... class HAG: ...
    >>> ATTACKS.get("hag") is HAG
    True
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named factories of one kind (attacks, defenses, losses, backbones, ...).

    Args:
        kind: human-readable kind, used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, *, override: bool = False) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name``.

        Raises:
            ValueError: if ``name`` is already registered and ``override`` is false.
        """

        def decorator(obj: T) -> T:
            self.add(name, obj, override=override)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, override: bool = False) -> None:
        """Register ``obj`` under ``name`` (see :meth:`register`)."""
        if not name or name != name.strip():
            raise ValueError(f"invalid {self.kind} name {name!r}")
        if name in self._entries and not override and self._entries[name] is not obj:
            raise ValueError(
                f"{self.kind} {name!r} is already registered "
                f"(by {self._describe(self._entries[name])}); pass override=True to replace it"
            )
        self._entries[name] = obj

    def remove(self, name: str) -> None:
        """Unregister ``name`` (used by tests and plugin reloads)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """Return the entry called ``name``.

        Raises:
            KeyError: with the list of known names if ``name`` is unknown.
        """
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def list(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by an fnmatch ``pattern``."""
        names = sorted(self._entries)
        if pattern is None:
            return names
        return [n for n in names if fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _describe(obj: object) -> str:
        module = getattr(obj, "__module__", "?")
        qual = getattr(obj, "__qualname__", type(obj).__name__)
        return f"{module}.{qual}"


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
