"""MS-COCO 2014 (train + val, 80 categories) → list files.

Raw layout (the official download, unpacked into one root)::

    RAW/annotations/instances_train2014.json
    RAW/annotations/instances_val2014.json
    RAW/train2014/COCO_train2014_<id>.jpg
    RAW/val2014/COCO_val2014_<id>.jpg

Label columns are the categories in ascending category-id order (names written to
``classes.txt``); an image's label is the multi-hot vector of the categories of its instance
annotations. Images with no category are dropped. Splits (protocol §1): ``test`` = ``query``
images drawn at random, ``database`` = the rest, ``train`` = ``train`` images drawn without
replacement from the database. Rows are written train2014 first, then val2014, each in
ascending image-id order; paths look like ``train2014/COCO_train2014_000000127540.jpg``.
The image folders are not read (only the annotation files are).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from robust_hashing.datasets.prepare.common import (
    PreparedLists,
    PrepareError,
    check_split_sizes,
    decode_utf8,
    make_split,
    write_lists,
)

PARTS: tuple[str, ...] = ("train2014", "val2014")
DEFAULT_QUERY = 5000
DEFAULT_TRAIN = 10000


def _load_json(path: Path) -> dict[str, Any]:
    """Load one instances file, checking the keys this module uses."""
    if not path.is_file():
        raise PrepareError(f"missing COCO annotation file: {path}")
    try:
        data = json.loads(decode_utf8(path.read_bytes(), path))
    except json.JSONDecodeError as err:
        raise PrepareError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err
    for key in ("images", "annotations", "categories"):
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise PrepareError(f"{path}: expected a top-level {key!r} list")
    return data


def _categories(files: dict[Path, dict[str, Any]]) -> list[tuple[int, str]]:
    """``[(id, name), ...]`` sorted by id, checked to be identical across the files."""
    found: list[tuple[int, str]] = []
    for path, data in files.items():
        try:
            cats = sorted((int(c["id"]), str(c["name"])) for c in data["categories"])
        except (KeyError, TypeError, ValueError) as err:
            raise PrepareError(f"{path}: malformed category entry: {err!r}") from err
        if not cats:
            raise PrepareError(f"{path}: the 'categories' list is empty")
        if found and cats != found:
            raise PrepareError(f"{path}: categories differ from those of the other file")
        found = cats
    return found


def _label_block(
    path: Path, images: list[dict[str, Any]], annotations: list[Any], column: dict[int, int]
) -> np.ndarray:
    """Multi-hot labels of ``images`` (already sorted) from one file's annotations."""
    row = {int(image["id"]): i for i, image in enumerate(images)}
    block = np.zeros((len(images), len(column)), dtype=np.uint8)
    for ann in annotations:
        image_id, category_id = int(ann["image_id"]), int(ann["category_id"])
        if image_id not in row:
            raise PrepareError(
                f"{path}: annotation {ann.get('id')} has unknown image_id {image_id}"
            )
        if category_id not in column:
            raise PrepareError(
                f"{path}: annotation {ann.get('id')} has unknown category_id {category_id}"
            )
        block[row[image_id], column[category_id]] = 1
    return block


def read_annotations(raw: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read both instances files into class names, image paths and an ``N × C`` label matrix.

    Args:
        raw: dataset root holding ``annotations/``.

    Returns:
        ``(classes, paths, labels)`` over **all** listed images, including unannotated ones
        (all-zero rows).

    Raises:
        PrepareError: on a missing or malformed file, an annotation naming an unknown image or
            category, or category lists that differ between the two files.
    """
    folder = Path(raw) / "annotations"
    files = {folder / f"instances_{part}.json": part for part in PARTS}
    data = {path: _load_json(path) for path in files}
    categories = _categories(data)
    column = {category_id: i for i, (category_id, _) in enumerate(categories)}
    paths: list[str] = []
    blocks = []
    for path, part in files.items():
        try:
            images = sorted(data[path]["images"], key=lambda image: int(image["id"]))
            blocks.append(_label_block(path, images, data[path]["annotations"], column))
            paths.extend(f"{part}/{image['file_name']}" for image in images)
        except PrepareError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise PrepareError(f"{path}: malformed image or annotation entry: {err!r}") from err
    return [name for _, name in categories], paths, np.concatenate(blocks)


def prepare_coco(
    raw: str | Path,
    out: str | Path | None = None,
    *,
    query: int = DEFAULT_QUERY,
    train: int = DEFAULT_TRAIN,
    seed: int = 0,
) -> PreparedLists:
    """Build the MS-COCO list files and write them to ``out``.

    Args:
        raw: dataset root of the raw download.
        out: output folder (default: ``raw``).
        query: number of query (``test``) images.
        train: number of train images, drawn without replacement from the database.
        seed: seed of the split sampling.

    Returns:
        The written lists.

    Raises:
        PrepareError: on a malformed download or split sizes larger than the data.
    """
    classes, paths, labels = read_annotations(raw)
    kept = np.flatnonzero(labels.any(axis=1))
    kept_paths = [paths[i] for i in kept]
    labels = labels[kept]
    check_split_sizes(len(kept), query, train, train_from_database=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(kept))
    database_rows = np.sort(order[query:])
    train_rows = np.sort(rng.choice(database_rows, size=train, replace=False))
    lists = PreparedLists(
        classes=classes,
        splits={
            "train": make_split(kept_paths, labels, train_rows),
            "test": make_split(kept_paths, labels, np.sort(order[:query])),
            "database": make_split(kept_paths, labels, database_rows),
        },
        notes=[
            (
                f"images listed: {len(paths)}, kept: {len(kept)}, "
                f"dropped (no category): {len(paths) - len(kept)}"
            )
        ],
    )
    write_lists(Path(raw) if out is None else Path(out), lists)
    return lists
