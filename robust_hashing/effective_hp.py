"""Effective hyper-parameters of a component, as JSON data, for the result records.

A record says which experiment produced its figures: :func:`resolved_hp` merges a class's
constructor defaults with the values a grid (or the command line) sets, so two variants of
one attack or defense can always be told apart.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import Any

# What the runner sets itself, left out of an attack's or defense's record.
SKIPPED_HP = (
    "self", "model", "context", "targeted", "clean_checkpoint", "backbone", "bits", "loss",
    "num_train", "num_classes",
)  # fmt: skip


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: tuples and arrays become lists, other objects text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, bool | int | float | str):
        return jsonable(value.tolist())  # tensors, numpy arrays and scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _defaults(cls: Any) -> dict[str, Any]:
    """Keyword defaults of ``cls``'s constructor, following ``**kwargs`` up the MRO."""
    out: dict[str, Any] = {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    for klass in getattr(cls, "__mro__", (cls,)):
        init = klass.__dict__.get("__init__") if isinstance(klass, type) else None
        if init is None or klass is object:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            break
        for p in params:
            if p.kind in kinds and p.default is not inspect.Parameter.empty:
                out.setdefault(p.name, p.default)  # the subclass's default wins
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            break
    return out


def resolved_hp(
    cls: Any, hp: dict[str, Any], skip: Iterable[str] = SKIPPED_HP, *, quick: bool = False
) -> dict[str, Any]:
    """The constructor defaults of ``cls`` overridden by ``hp``, as JSON data.

    A constructor that passes ``**kwargs`` on adds its base class's defaults. Positional-only, ``*args``/``**kwargs`` and the ``skip`` arguments (the model, the
    context and what the runner sets itself) are left out; a class whose signature cannot
    be read gives ``hp`` alone. ``quick``: the class's ``quick`` dict applies before ``hp``.
    """
    skip = set(skip)
    hp = {**(dict(getattr(cls, "quick", None) or {}) if quick else {}), **hp}
    out: dict[str, Any] = {}
    for name, default in _defaults(cls).items():
        if name not in skip:
            out[name] = default
    out.update({k: v for k, v in hp.items() if k not in skip})
    return {k: jsonable(v) for k, v in sorted(out.items())}
