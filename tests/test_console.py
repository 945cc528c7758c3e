"""The quiet filters: each hides its own message from its real source; --verbose shows all."""

from __future__ import annotations

import logging
import warnings

import lightning as L
import pytest

from robust_hashing import console

RANK_ZERO = "lightning.pytorch.utilities.rank_zero"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def lightning_log():
    """What Lightning's rank-zero logger lets through (a handler on the logger itself)."""
    handler = _Records()
    logger = logging.getLogger(RANK_ZERO)
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)
    console.set_verbose(True)  # leave every message visible for the other tests


def _trainer_messages(messages: list[str]) -> list[str]:
    messages.clear()
    L.Trainer(accelerator="cpu", logger=False)  # with Lightning's default checkpointing
    return list(messages)


def test_lightning_installation_lines_are_hidden_and_shown_with_verbose(lightning_log) -> None:
    console.set_verbose(True)
    shown = _trainer_messages(lightning_log)
    for start in ("GPU available: False", "TPU available: False", "💡 Tip: For seamless"):
        assert any(m.startswith(start) for m in shown), (start, shown)
    assert any("litlogger" in m for m in shown)
    console.set_verbose(False)
    assert _trainer_messages(lightning_log) == []  # those were all a Trainer printed
    # narrow: another message of the same logger still shows
    from lightning.pytorch.utilities.rank_zero import rank_zero_info

    rank_zero_info("`Trainer.fit` stopped: `max_epochs=1` reached.")
    rank_zero_info("HPU available: False, using: 0 HPUs")
    rank_zero_info(  # printed by fit when Lightning adds its default checkpoint callback
        "💡 Tip: For seamless cloud uploads and versioning, try installing [litmodels]"
        "(https://pypi.org/project/litmodels/) to enable LitModelCheckpoint, ..."
    )
    assert lightning_log == ["`Trainer.fit` stopped: `max_epochs=1` reached."]
    console.set_verbose(True)
    assert len(_trainer_messages(lightning_log)) == len(shown)


def _pytree_warnings() -> list[str]:
    from lightning.pytorch.utilities._pytree import _tree_flatten

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        console.set_verbose(console.is_verbose())  # the command's filters, re-applied inside
        _tree_flatten([1, 2])  # Lightning's helper checks the deprecated LeafSpec
        warnings.warn("an unrelated FutureWarning", FutureWarning, stacklevel=1)
        warnings.warn("predict returned None if it was on purpose, ignore", UserWarning, 1)
    return [str(w.message) for w in caught]


def test_known_warnings_are_hidden_and_shown_with_verbose() -> None:
    console.set_verbose(False)
    assert _pytree_warnings() == ["an unrelated FutureWarning"]
    console.set_verbose(True)
    shown = _pytree_warnings()
    assert any("isinstance(treespec, LeafSpec)` is deprecated" in m for m in shown)
    assert any(m.startswith("predict returned None") for m in shown)
    assert "an unrelated FutureWarning" in shown


def test_wandb_warnings_are_hidden_and_shown_with_verbose(monkeypatch) -> None:
    wandb = pytest.importorskip("wandb")
    shown: list[str] = []
    # wandb's own termwarn may be silenced by an earlier run in the process: record instead
    monkeypatch.setattr(wandb, "termwarn", lambda string, *a, **k: shown.append(str(string)))
    console.quiet_wandb()
    console.quiet_wandb()  # idempotent: one filter
    console.set_verbose(False)
    anonymous = "The anonymous setting has no effect and will be removed in a future version."
    wandb.termwarn(anonymous)
    wandb.termwarn("git root /tmp/runs does not exist")
    wandb.termwarn("something else went wrong")
    assert shown == ["something else went wrong"]
    console.set_verbose(True)
    wandb.termwarn(anonymous)
    wandb.termwarn("git root /tmp/runs does not exist")
    assert shown[1:] == [anonymous, "git root /tmp/runs does not exist"]
