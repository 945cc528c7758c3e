"""A quiet progress bar for encodes (``trainer.predict``) and attack runs (``trainer.test``).

Lightning's tqdm bar first draws an empty ``Predicting: 0/?`` bar and only then learns the
loader's length; :class:`EncodeProgressBar` instead draws one bar per encode or attack
run, named by its size (``encoding 5000 items``, ``attacking 80 queries``), and none at
all when the run ends in under :data:`BAR_DELAY_S` seconds.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm, convert_inf
from tqdm import tqdm

#: A run shorter than this draws no bar.
BAR_DELAY_S = 1.0

Stage = Literal["predict", "test"]
"""``trainer.predict`` (an encode) or ``trainer.test`` (an attack run)."""

#: How each stage's bar is named: ``<verb> <N> <noun>``.
_WHAT: dict[Stage, tuple[str, str]] = {
    "predict": ("encoding", "items"),
    "test": ("attacking", "queries"),
}


def _dataset_size(loaders: Any, index: int) -> int | None:
    """Size of the dataset of loader ``index`` of ``loaders`` (one loader or a sequence)."""
    try:
        loader = loaders[index] if isinstance(loaders, (list, tuple)) else loaders
        return len(loader.dataset)
    except (AttributeError, TypeError, IndexError):
        return None


class EncodeProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar; an encode or an attack run shows one bar, after a second.

    ``trainer.predict`` (an encode) draws ``encoding <N> items`` and ``trainer.test`` (an
    attack over the queries) ``attacking <N> queries``, each only once it has run for
    :data:`BAR_DELAY_S`, never an empty ``0/?`` bar. Training and validation bars are
    unchanged.
    """

    def _bar(self, name: str) -> Tqdm:
        return Tqdm(
            desc=name,
            position=(2 * self.process_position),
            disable=self.is_disabled,
            leave=True,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,
            delay=BAR_DELAY_S,
            bar_format=self.BAR_FORMAT,
        )

    def init_predict_tqdm(self) -> Tqdm:
        """The encode bar: drawn only once it has run for :data:`BAR_DELAY_S`."""
        return self._bar("encoding")

    def init_test_tqdm(self) -> Tqdm:
        """The attack bar: drawn only once it has run for :data:`BAR_DELAY_S`."""
        return self._bar("attacking")

    def _stage_bar(self, stage: Stage) -> tqdm[Any]:
        return self.predict_progress_bar if stage == "predict" else self.test_progress_bar

    def _start(self, trainer: Any, stage: Stage, dataloader_idx: int) -> None:
        """On a new data loader, reset the ``stage`` bar and name it by the loader's size.

        The bar is not drawn here (tqdm draws it once the run has lasted the delay).
        """
        if not self.has_dataloader_changed(dataloader_idx):
            return
        if stage == "predict":
            total = self.total_predict_batches_current_dataloader
            loaders = trainer.predict_dataloaders
        else:
            total = self.total_test_batches_current_dataloader
            loaders = trainer.test_dataloaders
        bar = self._stage_bar(stage)
        bar.total = convert_inf(total)
        bar.n = 0
        size = _dataset_size(loaders, dataloader_idx)
        verb, noun = _WHAT[stage]
        bar.set_description(verb if size is None else f"{verb} {size} {noun}", False)

    def on_predict_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Start a new encode bar on each data loader."""
        self._start(trainer, "predict", dataloader_idx)

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Start a new attack bar on each data loader."""
        self._start(trainer, "test", dataloader_idx)

    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Advance the bar; tqdm draws it only after the delay."""
        _advance(self._stage_bar("predict"), batch_idx + 1)

    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Advance the bar; tqdm draws it only after the delay."""
        _advance(self._stage_bar("test"), batch_idx + 1)


def _advance(bar: tqdm[Any], n: int) -> None:
    """Move ``bar`` to ``n`` through ``update``, which honours tqdm's ``delay``."""
    if not bar.disable:
        bar.update(n - bar.n)
