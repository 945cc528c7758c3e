"""Helpers for the one-line error messages of the command-line tools."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

import yaml

_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?")


def first_line(err: BaseException) -> str:
    r"""The first line of ``err``'s message, or its type name if the message is empty.

    An error re-raised from a DataLoader worker process (``Caught X in DataLoader worker
    process N.`` followed by the worker's traceback) gives the original message instead, the
    traceback's last line without its ``module.X:`` prefix.

    Example:
        >>> first_line(ValueError("bad value\nmore detail"))
        'bad value'
        >>> first_line(EOFError())
        'EOFError'
        >>> first_line(OSError("Caught OSError in DataLoader worker process 1.\n"
        ...     "Original Traceback (most recent call last):\n  ...\nOSError: a.txt:2: bad"))
        'a.txt:2: bad'
    """
    text = str(err).strip()
    if not text:
        return type(err).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    if lines[0].startswith("Caught ") and "worker process" in lines[0] and len(lines) > 1:
        last = lines[-1].strip()
        kind, _, message = last.partition(": ")
        return message if message and kind.rsplit(".", 1)[-1] == type(err).__name__ else last
    return lines[0]


def yaml_problem(err: yaml.YAMLError) -> str:
    """One line for a YAML error: the problem and where (PyYAML's own text spans lines).

    Example:
        >>> try:
        ...     yaml.safe_load("[1, 2")
        ... except yaml.YAMLError as err:
        ...     print(yaml_problem(err))
        expected ',' or ']', but got '<stream end>' (line 1, column 6)
    """
    problem = getattr(err, "problem", None)
    mark = getattr(err, "problem_mark", None)
    if problem is None:
        return " ".join(str(err).split()) or type(err).__name__
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem}{where}"


def int_at_least(minimum: int, expected: str = "an integer") -> Callable[[str], int]:
    """Argparse ``type`` accepting an integer ≥ ``minimum``; a usage error names the value.

    Args:
        minimum: the smallest value accepted.
        expected: what a non-integer is told it should have been.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def non_negative(text: str) -> float:
    """Argparse ``type`` accepting a finite number ≥ 0; a usage error names the value."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def typed_value(text: str) -> Any:
    """A command-line value with its type, the same for every ``KEY=VALUE`` option.

    Integers and decimal numbers (``1e-3`` included) become numbers, ``true``/``false``
    booleans, ``null`` None, ``[...]``/``{...}`` are read as YAML; anything else stays a
    string, so ``01:00:00`` is not read as sexagesimal 3600 and ``yes`` is not a boolean.

    Raises:
        argparse.ArgumentTypeError: a ``[...]``/``{...}`` value that is not valid YAML.

    Example:
        >>> [typed_value(v) for v in ("60", "7.5", "1e-3", "True", "null", "01:00:00")]
        [60, 7.5, 0.001, True, None, '01:00:00']
        >>> typed_value("{constraint: a100}")
        {'constraint': 'a100'}
    """
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() in ("null", "~"):
        return None
    if text.startswith(("[", "{")):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise argparse.ArgumentTypeError(
                f"invalid YAML value {text!r}: {yaml_problem(err)}"
            ) from None
    return text


def key_value(
    example: str, value: Callable[[str], Any] = typed_value
) -> Callable[[str], tuple[str, Any]]:
    """Argparse ``type`` of a ``KEY=VALUE`` option; a usage error shows ``example``.

    Args:
        example: a valid pair, quoted in the error for a value without ``=`` or key.
        value: parses the text after the first ``=`` (default :func:`typed_value`).
    """

    def parse(text: str) -> tuple[str, Any]:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as {example}, got {text!r}")
        return key, value(raw.strip())

    return parse
