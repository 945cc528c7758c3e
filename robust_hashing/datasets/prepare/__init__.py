"""Raw dataset downloads → the list files of protocol §2 (``robust-hashing prepare``).

One module per dataset (:mod:`.flickr25k`, :mod:`.nuswide`, :mod:`.coco`), each exposing a
``prepare_<name>(raw, out=None, *, query=..., train=..., seed=0)`` function that writes
``classes.txt`` plus both list formats (``{split}_img.txt``/``{split}_label.txt`` and
``{split}.txt``) for the splits ``train``, ``test`` and ``database``.
"""

from robust_hashing.datasets.prepare.coco import prepare_coco
from robust_hashing.datasets.prepare.common import (
    SPLITS,
    PreparedLists,
    PrepareError,
    SplitLists,
    write_lists,
)
from robust_hashing.datasets.prepare.flickr25k import prepare_flickr25k
from robust_hashing.datasets.prepare.nuswide import prepare_nuswide

__all__ = [
    "SPLITS",
    "PrepareError",
    "PreparedLists",
    "SplitLists",
    "prepare_coco",
    "prepare_flickr25k",
    "prepare_nuswide",
    "write_lists",
]
