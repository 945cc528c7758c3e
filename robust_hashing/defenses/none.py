"""The "no defense" row: the clean model itself."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from robust_hashing.defenses.base import DEFENSES, DefenseTask


@DEFENSES.register("none")
class NoDefense(DefenseTask):
    """No defense: the clean hashing model, so that it has a leaderboard row.

    The benchmark runner evaluates the clean checkpoint *unchanged* for this row (no
    training happens). If it is trained anyway (``robust-hashing fit``), each step is the
    plain clean hashing loss with the banks kept up to date, i.e. continued clean
    fine-tuning with the inherited optimiser settings; there is no inner attack.

    Args:
        **kwargs: :class:`~robust_hashing.defenses.base.DefenseTask` /
            :class:`~robust_hashing.tasks.HashingTask` arguments.

    Example:
        >>> task = NoDefense(backbone="test_cnn", bits=16, num_train=32, num_classes=5)
        >>> task.hparams.loss
        'dpsh'
    """

    quick: ClassVar[dict[str, Any]] = {}
    trains: ClassVar[bool] = False
    """The runner uses the clean checkpoint as is instead of fitting this task."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Clean hashing loss on ``(x, y, idx)``."""
        x, y, idx = batch
        _, loss = self.clean_step(x, y, idx)
        self.log_terms(loss, len(x), loss_hash=loss)
        return loss
