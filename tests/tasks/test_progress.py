"""The encode and attack bars: one per data loader, named by its size, none for a short run."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from robust_hashing.tasks import progress
from robust_hashing.tasks.progress import EncodeProgressBar


class _Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(3, 2)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Tensor:
        return self.net(batch[0])

    def test_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.net(batch[0])


def _loader(n: int) -> DataLoader[Any]:
    return DataLoader(TensorDataset(torch.randn(n, 3)), batch_size=4)


class _Record(L.Callback):
    """Records (description, total, position) of the bars after every batch."""

    def __init__(self, bar: EncodeProgressBar) -> None:
        self.bar, self.seen = bar, []  # type: list[tuple[str, Any, int]]

    def _note(self, tqdm_bar: Any) -> None:
        self.seen.append((tqdm_bar.desc.rstrip(": "), tqdm_bar.total, tqdm_bar.n))

    def on_predict_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self._note(self.bar.predict_progress_bar)

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self._note(self.bar.test_progress_bar)


def _trainer(*callbacks: L.Callback) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu", logger=False, callbacks=list(callbacks), enable_model_summary=False
    )


def test_each_loader_gets_a_bar_named_by_its_size(monkeypatch, capsys) -> None:
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    bar = EncodeProgressBar()
    record = _Record(bar)
    _trainer(bar, record).predict(_Tiny(), [_loader(10), _loader(6)])
    first, second = ("encoding 10 items", 3), ("encoding 6 items", 2)
    assert record.seen == [(*first, 1), (*first, 2), (*first, 3), (*second, 1), (*second, 2)]
    assert "encoding 6 items" in capsys.readouterr().out  # drawn: no delay

    bar = EncodeProgressBar()
    record = _Record(bar)
    _trainer(bar, record).test(_Tiny(), _loader(9), verbose=False)
    assert record.seen == [("attacking 9 queries", 3, n) for n in (1, 2, 3)]
    assert "attacking 9 queries" in capsys.readouterr().out


def test_a_short_run_draws_no_bar(capsys) -> None:
    bar = EncodeProgressBar()
    record = _Record(bar)
    _trainer(bar, record).predict(_Tiny(), _loader(10))
    assert record.seen[-1] == ("encoding 10 items", 3, 3)  # advanced, but not drawn
    bar = EncodeProgressBar()
    _trainer(bar).test(_Tiny(), _loader(10), verbose=False)
    out = capsys.readouterr().out
    assert "encoding" not in out and "attacking" not in out
