"""Image-list datasets in the two list formats of protocol §2.

* **two-file** (CgAT, SAAT, ProS-GAN): ``{split}_img.txt`` holds one image path per line and
  ``{split}_label.txt`` one whitespace-separated 0/1 row of length C per line;
* **one-file** (DeepHash-pytorch): ``{split}.txt`` with lines ``path 0 1 0 ... 1``.

Paths are relative to the dataset root. Splits are ``train``, ``test`` (the queries) and
``database``. Every malformed input raises :class:`DatasetError` with one line that names
the file and the line number.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from robust_hashing.datasets.transforms import to_tensor

__all__ = ["SPLITS", "DatasetError", "HashingListDataset", "count_rows", "resolve_list_format"]

SPLITS = ("train", "test", "database")
ListFormat = Literal["auto", "two_file", "one_file"]


class DatasetError(ValueError):
    """A list file or image is missing or malformed (message names file and line)."""


def decode_utf8(data: bytes, path: Path, error: type[Exception] = DatasetError) -> str:
    """``data`` (the bytes of ``path``) as text; bad UTF-8 raises a line-precise error.

    Args:
        data: the file's bytes.
        path: the file, named in the error.
        error: the exception class raised (the prepare scripts pass their own).

    Raises:
        DatasetError: (or ``error``) ``path:line: not UTF-8 text (byte 0x.. at offset N)``.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise error(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None


def _read_lines(path: Path) -> list[str]:
    """Return the lines of ``path`` with trailing blank lines dropped."""
    if not path.is_file():
        raise DatasetError(f"{path}: list file not found")
    lines = decode_utf8(path.read_bytes(), path).removeprefix("\ufeff").splitlines()  # BOM
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def resolve_list_format(root: str | Path, split: str, list_format: ListFormat = "auto") -> str:
    """Return ``"two_file"`` or ``"one_file"`` for ``split`` under ``root``.

    ``auto`` picks two-file when ``{split}_img.txt`` exists and one-file otherwise.

    Raises:
        DatasetError: for an unknown split or format, or when no list file exists.
    """
    if split not in SPLITS:
        raise DatasetError(f"{root}: unknown split {split!r}; expected one of {SPLITS}")
    if list_format not in ("auto", "two_file", "one_file"):
        raise DatasetError(f"{root}: unknown list_format {list_format!r}")
    if list_format != "auto":
        return list_format
    root = Path(root)
    if (root / f"{split}_img.txt").is_file():
        return "two_file"
    if (root / f"{split}.txt").is_file():
        return "one_file"
    raise DatasetError(
        f"{root}: no list file for split {split!r} (looked for {split}_img.txt and {split}.txt)"
    )


def list_digest(root: str | Path) -> str:
    """SHA-256 (16 hex digits) of the list files (``*.txt``) at the top of ``root``.

    Names and contents, in name order; ``"missing"`` if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        return "missing"
    digest = hashlib.sha256()
    for path in sorted(p for p in root.glob("*.txt") if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def count_rows(root: str | Path, split: str, list_format: ListFormat = "auto") -> int:
    """Number of rows of a split, read from its (first) list file without any image I/O."""
    fmt = resolve_list_format(root, split, list_format)
    name = f"{split}_img.txt" if fmt == "two_file" else f"{split}.txt"
    lines = _read_lines(Path(root) / name)
    if not lines:
        raise DatasetError(f"{Path(root) / name}: split {split!r} is empty")
    return len(lines)


def _parse_labels(tokens: list[str], num_classes: int, where: str) -> list[float]:
    if len(tokens) != num_classes:
        raise DatasetError(f"{where}: expected {num_classes} label values, got {len(tokens)}")
    values: list[float] = []
    for token in tokens:
        if token not in ("0", "1"):
            try:
                value = float(token)
            except ValueError:
                value = float("nan")
            if value not in (0.0, 1.0):
                raise DatasetError(f"{where}: label values must be 0 or 1, got {token!r}")
            values.append(value)
        else:
            values.append(1.0 if token == "1" else 0.0)
    return values


class HashingListDataset(Dataset[tuple[torch.Tensor, torch.Tensor, int]]):
    """One split of a multi-label retrieval dataset read from list files.

    Labels are parsed at construction and every listed image is checked to exist, but no
    image is decoded until it is indexed.

    Args:
        root: dataset root; list files live here and image paths are relative to it.
        split: ``train``, ``test`` (queries) or ``database``.
        num_classes: number C of label columns.
        transform: PIL image → tensor callable; defaults to
            :func:`~robust_hashing.datasets.transforms.to_tensor`.
        list_format: ``auto``, ``two_file`` or ``one_file``.
        cache_images: keep decoded uint8 RGB arrays in memory after their first load
            (per process: every data-loader worker holds its own cache).

    Raises:
        DatasetError: for any missing or malformed list file or missing image.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        num_classes: int,
        transform: Callable[[Image.Image], torch.Tensor] | None = None,
        list_format: ListFormat = "auto",
        cache_images: bool = False,
    ) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise DatasetError(f"{root}: num_classes must be a positive int, got {num_classes!r}")
        self.root = Path(root)
        self.split = split
        self.num_classes = num_classes
        self.transform = transform
        self.list_format = resolve_list_format(self.root, split, list_format)
        self.cache_images = cache_images
        self._cache: dict[int, np.ndarray] = {}
        if self.list_format == "two_file":
            paths, labels, sources = self._read_two_file()
        else:
            paths, labels, sources = self._read_one_file()
        self.paths: list[str] = paths
        self._sources: list[str] = sources
        self.labels: torch.Tensor = torch.tensor(labels, dtype=torch.float32).reshape(
            len(paths), num_classes
        )
        self._check_images_exist()

    def _read_two_file(self) -> tuple[list[str], list[list[float]], list[str]]:
        img_file = self.root / f"{self.split}_img.txt"
        label_file = self.root / f"{self.split}_label.txt"
        img_lines, label_lines = _read_lines(img_file), _read_lines(label_file)
        if not img_lines:
            raise DatasetError(f"{img_file}: split {self.split!r} is empty")
        if len(img_lines) != len(label_lines):
            raise DatasetError(
                f"{img_file} has {len(img_lines)} lines but {label_file} has "
                f"{len(label_lines)}; they must pair line by line"
            )
        paths, labels, sources = [], [], []
        for lineno, (img, row) in enumerate(zip(img_lines, label_lines, strict=True), start=1):
            path = img.strip()
            if not path:
                raise DatasetError(f"{img_file}:{lineno}: empty image path")
            paths.append(path)
            labels.append(_parse_labels(row.split(), self.num_classes, f"{label_file}:{lineno}"))
            sources.append(f"{img_file}:{lineno}")
        return paths, labels, sources

    def _read_one_file(self) -> tuple[list[str], list[list[float]], list[str]]:
        list_file = self.root / f"{self.split}.txt"
        lines = _read_lines(list_file)
        if not lines:
            raise DatasetError(f"{list_file}: split {self.split!r} is empty")
        paths, labels, sources = [], [], []
        for lineno, line in enumerate(lines, start=1):
            where = f"{list_file}:{lineno}"
            if not line.strip():
                raise DatasetError(f"{where}: empty line")
            # the last C tokens are the labels, so a path may contain spaces
            path, *values = line.strip().rsplit(maxsplit=self.num_classes)
            extra = path.split()[1:]
            if extra and all(t in ("0", "1") for t in extra):  # too many values, not a path
                path, values = path.split()[0], [*extra, *values]
            paths.append(path)
            labels.append(_parse_labels(values, self.num_classes, where))
            sources.append(where)
        return paths, labels, sources

    def _check_images_exist(self) -> None:
        missing = [i for i, p in enumerate(self.paths) if not (self.root / p).is_file()]
        if missing:
            first = missing[0]
            more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
            raise DatasetError(
                f"{self._sources[first]}: image file not found: {self.root / self.paths[first]}"
                f"{more}"
            )

    def __len__(self) -> int:
        return len(self.paths)

    def load_image(self, index: int) -> Image.Image:
        """Decode row ``index`` as an RGB PIL image (from the cache when enabled).

        Raises:
            DatasetError: naming the list file and line when the image cannot be decoded.
        """
        if self.cache_images and index in self._cache:
            return Image.fromarray(self._cache[index])
        path = self.root / self.paths[index]
        try:
            with Image.open(path) as raw:
                image = raw.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as err:
            raise DatasetError(f"{self._sources[index]}: cannot read image {path}: {err}") from None
        if self.cache_images:
            self._cache[index] = np.asarray(image, dtype=np.uint8)
        return image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} rows")
        index = int(index) % len(self)
        image = self.load_image(index)
        tensor = (self.transform or to_tensor)(image)
        return tensor, self.labels[index], index

    def deduplicated(self) -> HashingListDataset:
        """Return a view without duplicate rows: same image path and same label row.

        The first occurrence of each row is kept, in list order, and rows are renumbered
        0…n−1 (so bank slots follow). The view starts with an empty image cache. Rows that
        share a path but not the labels are kept.
        """
        keep: list[int] = []
        seen: set[tuple[str, tuple[float, ...]]] = set()
        for i, (path, row) in enumerate(zip(self.paths, self.labels.tolist(), strict=True)):
            key = (path, tuple(row))
            if key not in seen:
                seen.add(key)
                keep.append(i)
        view = copy.copy(self)
        view.paths = [self.paths[i] for i in keep]
        view._sources = [self._sources[i] for i in keep]
        view.labels = self.labels[keep].clone()
        view._cache = {}
        return view

    def with_transform(
        self, transform: Callable[[Image.Image], torch.Tensor] | None
    ) -> HashingListDataset:
        """Return a view of the same rows (and image cache) with another transform."""
        view = copy.copy(self)
        view.transform = transform
        return view

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, "
            f"rows={len(self)}, num_classes={self.num_classes}, format={self.list_format!r})"
        )
