"""``robust_hashing.cli``: the packaged default config is used only without a config of one's own."""

from __future__ import annotations

import pytest

from robust_hashing import cli


@pytest.fixture
def captured(monkeypatch) -> list[list[str]]:
    """Replace HashingCLI by a recorder of the arguments it would get."""
    calls: list[list[str]] = []

    def record(*args, **kwargs):
        calls.append(list(kwargs["args"]))

    monkeypatch.setattr(cli, "HashingCLI", record)
    return calls


@pytest.mark.parametrize(
    "options",
    [
        ["--config", "user.yaml"],
        ["--config=user.yaml"],
        ["-c", "user.yaml"],
        ["-cuser.yaml"],
        ["-c=user.yaml"],
        ["--trainer.max_epochs", "1", "--config=user.yaml"],
        ["--print_config"],
        ["--print_config=skip_null"],
        ["-h"],
        ["--help"],
    ],
)
def test_own_config_replaces_the_packaged_default(captured, options) -> None:
    cli.run_lightning_cli(["fit", *options])
    assert captured == [["fit", *options]]


@pytest.mark.parametrize(
    "options", [[], ["--trainer.max_epochs", "1"], ["--ckpt_path", "last.ckpt"]]
)
def test_packaged_default_without_a_config(captured, options) -> None:
    cli.run_lightning_cli(["fit", *options])
    assert captured == [["fit", "--config", str(cli.default_config_path()), *options]]


def test_validate_never_gets_the_default(captured) -> None:
    cli.run_lightning_cli(["validate", "--config=user.yaml"])
    assert captured == [["validate", "--config=user.yaml"]]
