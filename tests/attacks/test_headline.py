"""``robust-hashing attack`` leads with its headline; the full report needs --verbose."""

from __future__ import annotations

import json
import logging
import math
import warnings

import pytest
import torch

from robust_hashing import console, datamodules
from robust_hashing.attacks import cli
from robust_hashing.attacks.headline import (
    format_eps,
    format_headline,
    headline_line,
    relative_change,
)

from .conftest import BITS, train_toy_model
from .test_cli import FakeDataModule

NOISE = ("GPU available", "TPU available", "litlogger", "LeafSpec", "Predicting", "0/?")


def test_relative_change_and_its_standard_error_by_hand() -> None:
    change, se = relative_change(0.8, 0.2, 0.03, 0.04)
    assert change == pytest.approx(-0.75)
    # √(0.04² + (0.2/0.8)²·0.03²) / 0.8 = √(0.0016 + 0.00005625) / 0.8
    assert se == pytest.approx(math.sqrt(0.00165625) / 0.8)
    assert all(math.isnan(v) for v in relative_change(0.0, 0.2, 0.01, 0.01))
    assert math.isnan(relative_change(0.5, 0.25, None, 0.01)[1])


def test_eps_is_shown_on_the_pixel_grid() -> None:
    assert format_eps(8 / 255) == "8/255" and format_eps(4 / 255) == "4/255"
    assert format_eps(0.05) == "0.0500"
    assert format_eps(8 / 255, bounded=False).startswith("unbounded")


REPORT = {
    "attack": "mainstay", "mode": "untargeted", "eps": 8 / 255, "bounded": True,
    "top_k": 1000, "n_queries": 80, "asr_n": 100,
    "clean_map": 0.8, "clean_map_se": 0.03, "adv_map": 0.2, "adv_map_se": 0.04,
    "asr": 0.9125, "clean_asr": 0.0125, "linf": 8 / 255, "l2": 4.1, "rmse": 0.0251,
    "theory": 0.15, "seconds": 12.34,
}  # fmt: skip


def test_headline_of_a_hand_report() -> None:
    assert headline_line(REPORT) == (
        "mainstay (untargeted): mAP@1000 0.8000 → 0.2000 (-75.0 % ± 5.1 %) on 80 queries, ε = 8/255"
    )
    lines = format_headline(REPORT).splitlines()
    assert lines[1].split() == ["ASR@100", "0.912", "(clean", "queries", "0.013)"]
    assert lines[2] == "  perturbation  L∞ 0.0314, L2 4.100, RMSE 0.0251"
    targeted = {**REPORT, "mode": "targeted", "clean_tmap": 0.3, "adv_tmap": 0.6}
    targeted.update(clean_tmap_se=None, adv_tmap_se=0.02, bounded=False)
    line = headline_line(targeted)
    assert line.startswith("mainstay (targeted): t-mAP@1000 0.3000 → 0.6000 (+100.0 %) ")
    assert line.endswith("ε = unbounded (no ε-ball)")  # no SE without the clean one


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.set_num_threads(1)
    trained = train_toy_model(steps=20)[0]
    path = tmp_path_factory.mktemp("ckpt") / "toy.ckpt"
    state = {f"model.{k}": v for k, v in trained.state_dict().items()}
    hp = {"bits": BITS, "backbone": "test_cnn", "top_k": 10}
    torch.save({"hyper_parameters": hp, "state_dict": state}, path)
    return path


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _attack(checkpoint, monkeypatch, capsys, *extra: str) -> tuple[list[str], str]:
    """Run ``attack hag`` on the fake data; (stdout lines, every other message)."""
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: FakeDataModule())
    records = _Records()
    loggers = [logging.getLogger(name) for name in console.LIGHTNING_LOGGERS]
    for logger in loggers:
        logger.addHandler(records)
    argv = ["--checkpoint", str(checkpoint), "--attack", "hag", "--hp", "steps=2"]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert cli.main([*argv, "--accelerator", "cpu", *extra]) == 0
    finally:
        for logger in loggers:
            logger.removeHandler(records)
        console.set_verbose(True)  # leave every message visible for the other tests
    out, err = capsys.readouterr()
    others = "\n".join([err, *records.messages, *(str(w.message) for w in caught)])
    return out.splitlines(), others


def test_attack_leads_with_the_headline_and_no_noise(checkpoint, monkeypatch, capsys, tmp_path):
    out = tmp_path / "hag.json"
    lines, others = _attack(checkpoint, monkeypatch, capsys, "--out", str(out))
    # the checkpoint's own top_k (10) is the default depth; all 6 queries are attacked
    assert (
        lines[0].startswith("hag (untargeted): mAP@10 ") and "on 6 queries, ε = 8/255" in lines[0]
    )
    report = json.loads(out.read_text())
    assert lines[0] == headline_line(report) and report["top_k"] == 10
    assert lines[-1] == f"wrote {out}"
    assert not any(line.startswith(("adv_map", "clean_map_hits")) for line in lines)
    for noise in NOISE:
        assert noise not in "\n".join(lines) and noise not in others, noise
    # the full report is in --out: every key of the verbose listing is there
    assert {"adv_map_hits", "clean_map_full", "bit_flip", "rmse"} <= set(report)


def test_attack_verbose_adds_the_full_report_and_every_message(checkpoint, monkeypatch, capsys):
    lines, others = _attack(checkpoint, monkeypatch, capsys, "--verbose", "--top-k", "5")
    assert lines[0].startswith("hag (untargeted): mAP@5 ")
    rows = {line.split()[0]: line.split()[1] for line in lines[lines.index("") + 1 :]}
    assert {"adv_map", "adv_map_hits", "clean_map_full", "n_queries", "top_k"} <= set(rows)
    assert rows["top_k"] == "5" and rows["n_queries"] == "6"
    for message in ("GPU available", "TPU available", "litlogger", "LeafSpec", "predict returned"):
        assert message in others, message
