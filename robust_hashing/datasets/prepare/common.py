"""Shared pieces of the raw-download → list-file preparers.

Every preparer ends by building a :class:`PreparedLists` (class names plus, for each split,
image paths relative to the dataset root and a 0/1 label matrix) and calling
:func:`write_lists`, which writes both list formats of protocol §2 at the output root:

* two-file: ``{split}_img.txt`` (one path a line) and ``{split}_label.txt`` (one
  space-separated 0/1 row a line);
* one-file: ``{split}.txt`` with lines ``path 0 1 0 ... 1``;

plus ``classes.txt`` (one class name a line, in label-column order). All files are first
written to hidden temporary files in the output folder and only renamed into place once every
one of them was written, so an interrupted run never leaves half-written lists behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robust_hashing.datasets.lists import decode_utf8 as _decode_utf8

SPLITS: tuple[str, ...] = ("train", "test", "database")


class PrepareError(ValueError):
    """A raw download is missing a file, is malformed, or cannot give the requested splits."""


@dataclass(frozen=True)
class SplitLists:
    """The rows of one split.

    Attributes:
        paths: image paths relative to the dataset root, one per row.
        labels: ``len(paths) × C`` matrix of 0/1 (``uint8``).
    """

    paths: list[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.labels.ndim != 2 or self.labels.shape[0] != len(self.paths):
            raise PrepareError(
                f"split has {len(self.paths)} paths but a label matrix of shape "
                f"{tuple(self.labels.shape)}"
            )

    @property
    def zero_rows(self) -> int:
        """Number of rows whose label vector is all zero."""
        return int((self.labels.sum(axis=1) == 0).sum())


@dataclass(frozen=True)
class PreparedLists:
    """The full output of a preparer: class names and the three splits.

    Attributes:
        classes: class names in label-column order.
        splits: ``{"train": ..., "test": ..., "database": ...}``.
        notes: extra summary lines (e.g. how many raw images were dropped).
    """

    classes: list[str]
    splits: dict[str, SplitLists]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable multi-line summary: row counts, unique images, all-zero rows."""
        lines = [f"classes: {len(self.classes)}"]
        for name in SPLITS:
            split = self.splits[name]
            unique = len(set(split.paths))
            lines.append(
                f"{name:<9} {len(split.paths):>7} rows ({unique} unique images), "
                f"{split.zero_rows} all-zero label rows"
            )
        return "\n".join(lines + self.notes)


def read_lines(path: Path, *, what: str) -> list[tuple[int, str]]:
    """Read the non-blank lines of a text file, stripped, with their 1-based line numbers.

    Args:
        path: the file to read.
        what: short description used in the error message when the file is missing.

    Returns:
        ``[(line_number, text), ...]`` for every line that is not blank.

    Raises:
        PrepareError: if ``path`` is not a file or is not UTF-8 text (naming the line).
    """
    if not path.is_file():
        raise PrepareError(f"missing {what}: {path}")
    text = decode_utf8(path.read_bytes(), path).replace("\r\n", "\n").replace("\r", "\n")
    return [(i, s) for i, line in enumerate(text.split("\n"), 1) if (s := line.strip())]


def decode_utf8(data: bytes, path: Path) -> str:
    """``data`` (the bytes of ``path``) as text; bad UTF-8 raises a line-precise PrepareError."""
    return _decode_utf8(data, path, PrepareError)


def require_dir(path: Path, *, what: str) -> Path:
    """Return ``path`` if it is a directory, else raise a :class:`PrepareError`."""
    if not path.is_dir():
        raise PrepareError(f"missing {what}: {path} is not a directory")
    return path


def check_split_sizes(total: int, query: int, train: int, *, train_from_database: bool) -> None:
    """Validate requested split sizes against the number of usable images.

    Args:
        total: number of images available.
        query: requested number of query (``test``) images.
        train: requested number of train rows.
        train_from_database: if True, train rows are drawn without replacement from the
            database, so ``train`` may not exceed its size.

    Raises:
        PrepareError: on a negative size, a query set that leaves no database, or a train
            set larger than the database.
    """
    if query < 1 or train < 1:
        raise PrepareError(f"split sizes must be positive, got query={query}, train={train}")
    if query >= total:
        raise PrepareError(
            f"query={query} is too large: only {total} usable images, and the database "
            "(everything not in the query set) would be empty"
        )
    if train_from_database and train > total - query:
        raise PrepareError(
            f"train={train} is too large: the database holds only {total - query} images "
            f"({total} usable - {query} query)"
        )


def make_split(paths: Sequence[str], labels: np.ndarray, rows: Iterable[int]) -> SplitLists:
    """Select ``rows`` (indices into ``paths``/``labels``, repeats allowed) as one split."""
    index = np.asarray(list(rows), dtype=np.int64)
    return SplitLists([paths[i] for i in index], labels[index].astype(np.uint8))


def _format_files(classes: list[str], splits: dict[str, SplitLists]) -> dict[str, str]:
    """Render every output file's text, keyed by file name."""
    files = {"classes.txt": "".join(f"{name}\n" for name in classes)}
    for name in SPLITS:
        split = splits[name]
        if split.labels.shape[1] != len(classes):
            raise PrepareError(
                f"split {name!r} has {split.labels.shape[1]} label columns, expected {len(classes)}"
            )
        rows = [" ".join(map(str, row)) for row in split.labels.tolist()]
        for path in split.paths:
            if len(path.split()) != 1 or path != path.strip():
                raise PrepareError(f"image path {path!r} is empty or contains whitespace")
        files[f"{name}_img.txt"] = "".join(f"{p}\n" for p in split.paths)
        files[f"{name}_label.txt"] = "".join(f"{r}\n" for r in rows)
        files[f"{name}.txt"] = "".join(f"{p} {r}\n" for p, r in zip(split.paths, rows, strict=True))
    return files


def write_lists(out_root: str | Path, lists: PreparedLists) -> list[Path]:
    """Write ``classes.txt`` and both list formats of every split, all-or-nothing.

    Args:
        out_root: output folder (created if needed); usually the dataset root.
        lists: what to write.

    Returns:
        The written file paths, in a fixed order.

    Raises:
        PrepareError: if a split is missing or its label width differs from the classes.
    """
    missing = [name for name in SPLITS if name not in lists.splits]
    if missing:
        raise PrepareError(f"cannot write lists: splits {missing} are missing")
    files = _format_files(lists.classes, lists.splits)
    out = Path(out_root)
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[Path, Path] = {}
    try:
        for name, text in files.items():
            temp = out / f".{name}.tmp-{os.getpid()}"
            temps[temp] = out / name
            temp.write_text(text, encoding="utf-8")
        for temp, final in temps.items():
            os.replace(temp, final)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return list(temps.values())
