"""Read ``torch.save`` files without running code: plain tensors, numbers, strings only.

Every checkpoint, cache and artefact of the package is read with
``torch.load(..., weights_only=True)``: PyTorch's restricted unpickler rebuilds tensors,
numbers, strings and the built-in containers and refuses any other Python object, so a
file that carries a pickle payload (an object whose unpickling would call ``os.system``,
``exec``, …) is refused before anything runs. What the package saves is kept loadable
that way: :func:`plain` turns the hyper-parameters of a checkpoint into plain values.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from enum import Enum
from os import PathLike
from pathlib import Path
from typing import Any

import torch

from robust_hashing.errors import first_line

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class CheckpointError(ValueError):
    """A file is not a readable robust_hashing task checkpoint (the message names it)."""


def safe_torch_load(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load`` of ``path`` that never runs code stored in the file.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: one line naming the file: it holds an object other than tensors,
            numbers, strings and containers (the object's type is named), or it cannot
            be read at all (truncated, not a ``torch.save`` file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ...
        found = _GLOBAL.search(str(err))
        if found is not None:
            raise CheckpointError(
                f"{path}: refused: it stores a Python object ({found.group(1)}) whose loading "
                "could run code; only tensors, numbers, strings and containers are read"
            ) from err
        raise CheckpointError(f"{path}: cannot read the checkpoint ({first_line(err)})") from err


def plain(value: Any) -> Any:
    """``value`` as plain types that ``torch.load(weights_only=True)`` reads back.

    Mappings and namespaces become dicts, lists and tuples keep their kind, paths become strings, enums their value; ``None``, booleans, numbers, strings
    and tensors are kept. Anything else becomes its ``repr`` string, so it is recorded
    without carrying code.

    Example:
        >>> plain({"root": Path("/data"), "sizes": (1, 2), "f": print})
        {'root': '/data', 'sizes': (1, 2), 'f': '<built-in function print>'}
    """
    if value is None or isinstance(value, bool | int | float | str | torch.Tensor):
        return value
    if isinstance(value, PathLike):
        return str(Path(value))
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, argparse.Namespace):  # jsonargparse's too
        return plain(value.as_dict() if hasattr(value, "as_dict") else vars(value))
    if isinstance(value, Mapping):
        return {
            key if isinstance(key, str | int) else str(key): plain(v) for key, v in value.items()
        }
    if isinstance(value, tuple | list):
        items = [plain(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    return repr(value)
