"""The data ``robust-hashing attack`` runs on: ``--data``/``--root``, or the checkpoint's own.

A checkpoint written by ``robust-hashing fit`` or the benchmark stores the model's class
count and its data module's arguments (``datamodule_hyper_parameters``). Without
``--data``, the data module is the registered one with that class count; its arguments
(``root``, ``resize``, ``crop``, ``list_format``, ``dedupe_train``, ...) are the stored
ones, so the attacked queries, database and training bank go through the pipeline the
model was trained with. ``--root`` replaces the stored root (data moved elsewhere). A
checkpoint without a class count (an older or hand-made one) falls back to the embedded
data. A ``--data`` whose class count differs from the model's is refused.
"""

from __future__ import annotations

import inspect
from typing import Any

DEFAULT_DATA = "embedded"
NOT_STORED = ("batch_size",)  # the training batch size does not concern evaluation


class DataChoiceError(ValueError):
    """No data module can be chosen for the checkpoint, or the chosen one does not fit."""


def class_count(cls: Any) -> int | None:
    """The fixed class count of a data module class (``NUM_CLASSES``), None if it has none."""
    count = getattr(cls, "NUM_CLASSES", None)
    return int(count) if isinstance(count, int) else None


def resolve_data(data: str | None, root: str | None, ckpt: dict[str, Any]) -> tuple[str, dict]:
    """The data module name and keyword arguments for attacking the checkpoint ``ckpt``.

    Args:
        data: ``--data`` (None: chosen by the checkpoint's class count).
        root: ``--root`` (None: the stored root, if any).
        ckpt: the checkpoint, as :func:`robust_hashing.tasks.checkpoint.read_checkpoint`
            returns it.

    Raises:
        DataChoiceError: one line, if no single data module matches the checkpoint, the
            given one has another class count, or a list dataset gets no root.
    """
    from robust_hashing.datamodules import DATAMODULES

    classes = ckpt.get("hyper_parameters", {}).get("num_classes")
    if data is None:
        matching = [n for n in DATAMODULES.list() if class_count(DATAMODULES.get(n)) == classes]
        if classes is None:
            data = DEFAULT_DATA
        elif len(matching) == 1:
            data = matching[0]
        else:
            which = f"{', '.join(matching)} all have" if matching else "no registered data has"
            raise DataChoiceError(
                f"pass --data: the checkpoint's model has {classes} classes, which {which}"
            )
    cls = DATAMODULES.get(data)
    count = class_count(cls)
    if classes is not None and count is not None and count != classes:
        raise DataChoiceError(
            f"--data {data} has {count} classes but the checkpoint's model was trained on "
            f"{classes}; pass the data it was trained on"
        )
    params = inspect.signature(cls).parameters
    stored = ckpt.get("datamodule_hyper_parameters") or {}
    kwargs = {k: v for k, v in stored.items() if k in params and k not in NOT_STORED}
    if root:
        kwargs["root"] = root
    needs_root = "root" in params and params["root"].default is inspect.Parameter.empty
    if needs_root and not kwargs.get("root"):
        raise DataChoiceError(f"--data {data} needs --root (the folder of its list files)")
    return data, kwargs
