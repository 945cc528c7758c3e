"""A tiny name → factory registry, one instance per kind of component.

Modelled on timm's registries, but strict: registering a name twice raises unless
``override=True``. Lookups accept exact names; :meth:`Registry.list` accepts
fnmatch wildcards.

Example:
    >>> ATTACKS = Registry("attack")
    >>> @ATTACKS.register("hag")
    ... class HAG: ...
    >>> ATTACKS.get("hag") is HAG
    True
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

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
