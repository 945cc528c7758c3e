"""Hyper-parameter values checked where they enter (grid ``hp``, ``robust-hashing attack --hp``).

Two checks, both before any model is built:

* **types**: each value against the annotation of the class's ``__init__`` (and of the base
  classes its ``**kwargs`` reach): a string where a ``float`` is declared is refused. PyYAML
  (YAML 1.1) reads ``1.0e30`` as a *string*; the message says to write ``1.0e+30``.
* **budgets**: the perturbation budget ε (``eps``, ``attack_eps``) must lie in (0, 1] (images
  are in [0, 1]), and step sizes and learning rates (``step``, ``attack_step``, ``lr``,
  ``*_lr``) must be positive and finite.

:func:`hp_problem` returns the first problem as ``(key, message)``, None if all is well.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, Union

EPS_KEYS = ("eps", "attack_eps")
STEP_KEYS = ("step", "attack_step", "lr")
_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+"


def budget_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is not a valid budget or step size for ``key``, None if it is (or n/a)."""
    is_step = key in STEP_KEYS or key.endswith("_lr")
    if key not in EPS_KEYS and not is_step:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # the type check names a wrong type
    if key in EPS_KEYS:
        if not (math.isfinite(value) and 0 < value <= 1):
            return f"the budget ε must be in (0, 1] (images are in [0, 1]), got {value!r}"
        return None
    if not (math.isfinite(value) and value > 0):
        return f"a step size must be a positive finite number, got {value!r}"
    return None


def _hints(cls: Any) -> dict[str, Any]:
    """Annotations of the ``__init__`` arguments along the ``**kwargs`` chain of ``cls``.

    The most specific class wins; an annotation that cannot be resolved is left out.
    """
    hints: dict[str, Any] = {}
    for klass in getattr(cls, "__mro__", ()):
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        try:
            resolved = typing.get_type_hints(init)
        except Exception:  # noqa: BLE001 - a forward reference it cannot resolve: skip it
            resolved = {}
        for name, hint in resolved.items():
            hints.setdefault(name, hint)
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            break
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            break
    hints.pop("return", None)
    return hints


def _matches(value: Any, hint: Any) -> bool | None:
    """Whether ``value`` fits ``hint``; None where the hint is not checked (Any, classes)."""
    if hint is Any:
        return None
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        answers = [_matches(value, arm) for arm in args]
        return (
            None if None in answers and not any(answers) else any(a is not False for a in answers)
        )
    if origin is Literal:
        return value in args
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (bool, str):
        return isinstance(value, hint)
    if origin in (tuple, list, Sequence) or hint in (tuple, list):
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            return False
        inner = [a for a in args if a is not Ellipsis]
        if len(inner) == 1:
            return all(_matches(v, inner[0]) is not False for v in value)
        if inner and len(args) == len(value):
            return all(_matches(v, a) is not False for v, a in zip(value, args, strict=True))
        return not inner or len(args) == len(value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return None


def _describe(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if typing.get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "")


def type_problem(key: str, value: Any, hint: Any) -> str | None:
    """Why ``value`` does not fit the annotation ``hint`` of ``key``, None if it does."""
    if _matches(value, hint) is not False:
        return None
    got = f"{type(value).__name__} {value!r}"
    message = f"expected {_describe(hint)}, got {got}"
    text = value.strip() if isinstance(value, str) else ""
    if re.fullmatch(_NUMBER, text):
        mantissa, exponent = re.split("[eE]", text)
        mantissa += "" if "." in mantissa else ".0"
        exponent = exponent if exponent[0] in "+-" else f"+{exponent}"
        message += f" (YAML reads {text} as text: write {mantissa}e{exponent})"
    return message


def hp_problem(cls: Any, hp: dict[str, Any]) -> tuple[str, str] | None:
    """The first problem of ``hp`` for ``cls(**hp)``: ``(key, message)``, or None.

    Checks each value's type against the constructor's annotations (:func:`type_problem`),
    then the budgets and step sizes (:func:`budget_problem`).
    """
    hints = _hints(cls) if cls is not None else {}
    for key, value in hp.items():
        hint = hints.get(key)
        problem = type_problem(key, value, hint) if hint is not None else None
        problem = problem or budget_problem(key, value)
        if problem:
            return key, problem
    return None
