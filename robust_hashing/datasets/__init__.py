"""Datasets: list-file image datasets, the embedded default data and PIL/torch transforms.

``prepare/`` holds the raw-download → list-file scripts (imported on demand, not here).
"""

from robust_hashing.datasets.embedded import (
    CLASS_NAMES,
    build_embedded,
    default_root,
    generate_embedded,
    relevance_fraction,
    verify_embedded,
)
from robust_hashing.datasets.lists import (
    SPLITS,
    DatasetError,
    HashingListDataset,
    count_rows,
    resolve_list_format,
)
from robust_hashing.datasets.transforms import (
    eval_transform,
    native_transform,
    to_tensor,
    train_transform,
)

__all__ = [
    "CLASS_NAMES",
    "SPLITS",
    "DatasetError",
    "HashingListDataset",
    "build_embedded",
    "count_rows",
    "default_root",
    "eval_transform",
    "generate_embedded",
    "native_transform",
    "relevance_fraction",
    "resolve_list_format",
    "to_tensor",
    "train_transform",
    "verify_embedded",
]
