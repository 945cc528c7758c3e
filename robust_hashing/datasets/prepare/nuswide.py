r"""NUS-WIDE (21 most frequent concepts) → list files.

Raw layout (the official download, unpacked into one root)::

    RAW/ImageList/Imagelist.txt                  # one image path a line (often C:\...\x.jpg)
    RAW/Groundtruth/AllLabels/Labels_<c>.txt     # one 0/1 a line, aligned with Imagelist.txt
    RAW/Flickr/<folder>/<name>.jpg               # the images

Every ``Labels_*.txt`` file found is a candidate concept (81 in the official download). The
``num_classes`` concepts with the most positives are kept (ties broken by name) and become the
label columns **in alphabetical order** (written to ``classes.txt``); images carrying none of
them are dropped. Splits (protocol §1): per kept concept, in class order, ``query /
num_classes`` query images are drawn among images carrying it that were not drawn yet;
``database`` = every kept image not in the query set; ``train`` is drawn the same way per
concept from the database, so ``train ⊂ database``. Rows are written in image-list order.

Image paths: ``path_style="flickr"`` (default) writes ``Flickr/<folder>/<name>.jpg``, the last
two components of each image-list line (backslashes accepted), i.e. the layout of the image
download; ``path_style="images"`` writes ``images/<name>.jpg`` for a flattened copy as in the
ProS-GAN/CgAT lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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

IMAGE_LIST = "ImageList/Imagelist.txt"
LABEL_DIR = "Groundtruth/AllLabels"
DEFAULT_QUERY = 2100
DEFAULT_TRAIN = 10500
DEFAULT_NUM_CLASSES = 21
PathStyle = Literal["flickr", "images"]


def read_image_list(raw: str | Path, path_style: PathStyle = "flickr") -> list[str]:
    """Read ``ImageList/Imagelist.txt`` into paths relative to the dataset root.

    Args:
        raw: dataset root.
        path_style: ``"flickr"`` → ``Flickr/<folder>/<name>``; ``"images"`` →
            ``images/<name>``.

    Returns:
        One relative path per image-list entry, in file order.

    Raises:
        PrepareError: if the list is missing or a line has too few path components.
    """
    if path_style not in ("flickr", "images"):
        raise PrepareError(f"path_style must be 'flickr' or 'images', got {path_style!r}")
    path = Path(raw) / IMAGE_LIST
    paths = []
    for line_number, text in read_lines(path, what="NUS-WIDE image list"):
        # split on both "\" and "/", dropping empty parts and drive letters such as "C:"
        parts = [p for p in text.replace("\\", "/").split("/") if p and not p.endswith(":")]
        if path_style == "images" and parts:
            paths.append(f"images/{parts[-1]}")
        elif len(parts) < 2:
            raise PrepareError(f"{path}:{line_number}: expected <folder>\\<name>.jpg, got {text!r}")
        else:
            paths.append(f"Flickr/{parts[-2]}/{parts[-1]}")
    return paths


def _read_label_column(path: Path, num_images: int) -> np.ndarray:
    """One ``Labels_<c>.txt`` file as a boolean vector, with a line-precise error on bad input."""
    tokens = np.array(path.read_bytes().split())  # fast path: one 0/1 token per line
    if len(tokens) == num_images and bool(((tokens == b"0") | (tokens == b"1")).all()):
        return tokens == b"1"
    lines = read_lines(path, what="NUS-WIDE label file")  # slow path, only to explain
    for line_number, text in lines:
        if text not in ("0", "1"):
            raise PrepareError(f"{path}:{line_number}: expected 0 or 1, got {text!r}")
    raise PrepareError(
        f"{path} has {len(lines)} label lines but {IMAGE_LIST} lists {num_images} images"
    )


def read_concept_labels(raw: str | Path, num_images: int) -> tuple[list[str], np.ndarray]:
    """Read every ``Groundtruth/AllLabels/Labels_<c>.txt`` into an ``N × K`` 0/1 matrix.

    Args:
        raw: dataset root.
        num_images: number of entries of the image list (each file must have as many lines).

    Returns:
        ``(concepts, labels)`` with the concepts sorted by name.

    Raises:
        PrepareError: if the folder holds no label file, a file's line count differs from the
            image list, or a value is not 0/1.
    """
    folder = require_dir(Path(raw) / LABEL_DIR, what="NUS-WIDE label folder")
    files = sorted(folder.glob("Labels_*.txt"))
    if not files:
        raise PrepareError(f"no Labels_<concept>.txt files in {folder}")
    concepts = [f.stem[len("Labels_") :] for f in files]
    labels = np.zeros((num_images, len(files)), dtype=np.uint8)
    for column, path in enumerate(files):
        labels[:, column] = _read_label_column(path, num_images)
    return concepts, labels


def most_frequent(concepts: list[str], labels: np.ndarray, k: int) -> list[str]:
    """The ``k`` concepts with the most positives (ties by name), returned sorted by name.

    Raises:
        PrepareError: if fewer than ``k`` concepts are available.
    """
    if len(concepts) < k:
        raise PrepareError(f"need {k} concepts but found only {len(concepts)} label files")
    counts = labels.sum(axis=0)
    ranked = sorted(range(len(concepts)), key=lambda i: (-int(counts[i]), concepts[i]))
    return sorted(concepts[i] for i in ranked[:k])


def _pick_per_class(
    labels: np.ndarray,
    allowed: np.ndarray,
    per_class: int,
    classes: list[str],
    rng: np.random.Generator,
    what: str,
) -> np.ndarray:
    """Draw ``per_class`` rows per column among allowed rows carrying it, never twice."""
    picked = np.zeros(len(labels), dtype=bool)
    for column, name in enumerate(classes):
        pool = np.flatnonzero((labels[:, column] == 1) & allowed & ~picked)
        if len(pool) < per_class:
            raise PrepareError(
                f"cannot draw {per_class} {what} images for concept {name!r}: only "
                f"{len(pool)} eligible images carry it and are not drawn yet"
            )
        picked[rng.choice(pool, size=per_class, replace=False)] = True
    return picked


def prepare_nuswide(
    raw: str | Path,
    out: str | Path | None = None,
    *,
    query: int = DEFAULT_QUERY,
    train: int = DEFAULT_TRAIN,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int = 0,
    path_style: PathStyle = "flickr",
) -> PreparedLists:
    """Build the NUS-WIDE list files and write them to ``out``.

    Args:
        raw: dataset root of the raw download.
        out: output folder (default: ``raw``).
        query: total number of query images; a multiple of ``num_classes``.
        train: total number of train images; a multiple of ``num_classes``.
        num_classes: how many of the most frequent concepts to keep.
        seed: seed of the split sampling.
        path_style: how image paths are written (see the module docstring).

    Returns:
        The written lists.

    Raises:
        PrepareError: on a malformed download or split sizes the data cannot give.
    """
    if num_classes < 1:
        raise PrepareError(f"num_classes must be at least 1, got {num_classes}")
    for name, size in (("query", query), ("train", train)):
        if size % num_classes:
            raise PrepareError(
                f"{name}={size} must be a multiple of num_classes={num_classes} "
                f"(drawn as {name}/num_classes images per concept)"
            )
    paths = read_image_list(raw, path_style)
    concepts, all_labels = read_concept_labels(raw, len(paths))
    classes = most_frequent(concepts, all_labels, num_classes)
    labels = all_labels[:, [concepts.index(c) for c in classes]]
    kept = np.flatnonzero(labels.any(axis=1))
    kept_paths = [paths[i] for i in kept]
    seen: set[str] = set()
    for path in kept_paths:
        if path in seen:
            raise PrepareError(f"{IMAGE_LIST}: image path {path!r} occurs twice")
        seen.add(path)
    labels = labels[kept]
    check_split_sizes(len(kept), query, train, train_from_database=True)
    rng = np.random.default_rng(seed)
    everything = np.ones(len(kept), dtype=bool)
    is_query = _pick_per_class(labels, everything, query // num_classes, classes, rng, "query")
    is_train = _pick_per_class(labels, ~is_query, train // num_classes, classes, rng, "train")
    counts = {c: int(n) for c, n in zip(classes, labels.sum(axis=0), strict=True)}
    lists = PreparedLists(
        classes=classes,
        splits={
            "train": make_split(kept_paths, labels, np.flatnonzero(is_train)),
            "test": make_split(kept_paths, labels, np.flatnonzero(is_query)),
            "database": make_split(kept_paths, labels, np.flatnonzero(~is_query)),
        },
        notes=[
            (
                f"images listed: {len(paths)}, kept: {len(kept)}, "
                f"dropped (none of the {num_classes} concepts): {len(paths) - len(kept)}"
            ),
            "concept positives: " + ", ".join(f"{c}={n}" for c, n in counts.items()),
        ],
    )
    write_lists(Path(raw) if out is None else Path(out), lists)
    return lists
