"""Atomic file writes: a temporary file in the target folder, then a rename.

A crash, a SIGKILL or Ctrl-C never leaves a half-written file under the final name, and a
failed write (a full disk: ``OSError(ENOSPC)``) leaves the previous file as it was. The
temporary file is flushed to disk before the rename, and the final file gets the usual
permissions of a new file (``0o666`` less the umask, e.g. ``0o644``), not the temporary
file's private ``0o600``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch


def _umask() -> int:
    """The process's file-creation mask (read without changing it where Linux allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """Permissions of a file created now with ``open``: ``0o666`` less the umask."""
    return 0o666 & ~_umask()


def _flush_to_disk(path: Path) -> None:
    """``fsync`` the written temporary file so the rename never publishes empty data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    If the block raises (a full disk, an interrupt), ``path`` keeps its previous content
    and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, new_file_mode())
        _flush_to_disk(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def torch_save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def unwritable_reason(path: str | Path, *, folder: bool = True) -> str | None:
    """Why files could not be written at ``path``, or None if they can (nothing is created).

    Args:
        path: a folder that will hold files (``folder=True``), or a file to be written.
        folder: whether ``path`` names a folder (else its parent folder is checked too).

    The nearest existing ancestor must be a folder that this process may write into; an
    existing ``path`` must be a folder (or, for a file, a writable non-folder).
    """
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            return f"{path} is not a folder"
        if not folder and path.is_dir():
            return f"{path} is a folder"
        if not os.access(path, os.W_OK):
            return f"{path} is not writable"
    start = path if folder else path.parent
    existing = start
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot create {start}: {existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable" + (f" (needed for {path})" if existing != path else "")
    return None
