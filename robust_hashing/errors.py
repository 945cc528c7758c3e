"""Helpers for the one-line error messages of the command-line tools."""

from __future__ import annotations


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
