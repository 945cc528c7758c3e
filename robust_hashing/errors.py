"""Helpers for the one-line error messages of the command-line tools."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def first_line(err: BaseException) -> str:
    r"""The first line of ``err``'s message, or its type name if the message is empty.

    Example:
        >>> first_line(ValueError("bad value\nmore detail"))
        'bad value'
        >>> first_line(EOFError())
        'EOFError'
    """
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


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
