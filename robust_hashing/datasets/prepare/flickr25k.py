"""MIRFLICKR-25K (38-label variant) → list files.

Raw layout (the official download, unpacked into one root)::

    RAW/mirflickr/im1.jpg ... im25000.jpg
    RAW/mirflickr25k_annotations_v080/<concept>.txt   # 1-based image ids, one a line

The 38 labels are the 24 "potential" concepts followed by the 14 "relevant" (``_r1``) ones,
in the fixed order of :data:`CLASSES`. Splits (protocol §1): ``test`` = ``query`` images drawn
at random, ``database`` = every other image, ``train`` = ``train`` rows drawn *with
replacement* from the database (so duplicate rows happen). Images whose 38 labels are all zero
are kept. Every split is written in ascending image-id order; paths look like
``mirflickr/im1.jpg``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from robust_hashing.datasets.prepare.common import (
    PreparedLists,
    PrepareError,
    check_split_sizes,
    make_split,
    read_lines,
    require_dir,
    write_lists,
)

IMAGE_DIR = "mirflickr"
ANNOTATION_DIR = "mirflickr25k_annotations_v080"
POTENTIAL: tuple[str, ...] = (
    "animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food", "indoor",
    "lake", "male", "night", "people", "plant_life", "portrait", "river", "sea", "sky",
    "structures", "sunset", "transport", "tree", "water",
)  # fmt: skip
RELEVANT: tuple[str, ...] = (
    "baby_r1", "bird_r1", "car_r1", "clouds_r1", "dog_r1", "female_r1", "flower_r1",
    "male_r1", "night_r1", "people_r1", "portrait_r1", "river_r1", "sea_r1", "tree_r1",
)  # fmt: skip
CLASSES: tuple[str, ...] = POTENTIAL + RELEVANT
DEFAULT_QUERY = 1700
DEFAULT_TRAIN = 5000
_IMAGE_NAME = re.compile(r"im([1-9][0-9]*)\.jpg")


def _image_ids(raw: Path) -> list[int]:
    """Sorted ids of the ``mirflickr/im<id>.jpg`` files present under ``raw``."""
    folder = require_dir(raw / IMAGE_DIR, what="MIRFLICKR image folder")
    ids = sorted(int(m.group(1)) for p in folder.iterdir() if (m := _IMAGE_NAME.fullmatch(p.name)))
    if not ids:
        raise PrepareError(f"no im<id>.jpg images found in {folder}")
    return ids


def read_labels(raw: str | Path, ids: list[int] | None = None) -> tuple[list[int], np.ndarray]:
    """Build the ``N × 38`` label matrix from the annotation folder.

    Args:
        raw: dataset root holding ``mirflickr/`` and ``mirflickr25k_annotations_v080/``.
        ids: image ids to label (default: the images present in ``mirflickr/``).

    Returns:
        ``(ids, labels)`` with ``labels[i, c] == 1`` iff image ``ids[i]`` is listed in the
        annotation file of ``CLASSES[c]``.

    Raises:
        PrepareError: if the annotation folder or a concept file is missing, a line is not a
            positive integer, or an id has no image.
    """
    raw = Path(raw)
    ids = _image_ids(raw) if ids is None else ids
    folder = require_dir(raw / ANNOTATION_DIR, what="MIRFLICKR annotation folder")
    row_of = {image_id: row for row, image_id in enumerate(ids)}
    labels = np.zeros((len(ids), len(CLASSES)), dtype=np.uint8)
    for column, concept in enumerate(CLASSES):
        path = folder / f"{concept}.txt"
        for line_number, text in read_lines(path, what=f"annotation file for {concept!r}"):
            if not (text.isascii() and text.isdigit()):
                raise PrepareError(f"{path}:{line_number}: expected an image id, got {text!r}")
            row = row_of.get(int(text))
            if row is None:
                raise PrepareError(
                    f"{path}:{line_number}: image id {text} has no {IMAGE_DIR}/im{text}.jpg"
                )
            labels[row, column] = 1
    return ids, labels


def prepare_flickr25k(
    raw: str | Path,
    out: str | Path | None = None,
    *,
    query: int = DEFAULT_QUERY,
    train: int = DEFAULT_TRAIN,
    seed: int = 0,
) -> PreparedLists:
    """Build the MIRFLICKR-25K list files and write them to ``out``.

    Args:
        raw: dataset root of the raw download.
        out: output folder (default: ``raw``, so list paths are relative to it).
        query: number of query (``test``) images.
        train: number of train rows, sampled with replacement from the database.
        seed: seed of the split sampling.

    Returns:
        The written lists (see :meth:`PreparedLists.summary`).

    Raises:
        PrepareError: on a malformed download or split sizes larger than the data.
    """
    ids, labels = read_labels(raw)
    check_split_sizes(len(ids), query, train, train_from_database=False)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    query_rows = np.sort(order[:query])
    database_rows = np.sort(order[query:])
    train_rows = np.sort(rng.choice(database_rows, size=train, replace=True))
    paths = [f"{IMAGE_DIR}/im{image_id}.jpg" for image_id in ids]
    lists = PreparedLists(
        classes=list(CLASSES),
        splits={
            "train": make_split(paths, labels, train_rows),
            "test": make_split(paths, labels, query_rows),
            "database": make_split(paths, labels, database_rows),
        },
        notes=[f"images: {len(ids)}, all-zero label images: {int((labels.sum(1) == 0).sum())}"],
    )
    write_lists(Path(raw) if out is None else Path(out), lists)
    return lists
