"""``robust-hashing attack`` end to end and the context glue, on a fake data module."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader, Subset

from robust_hashing import datamodules
from robust_hashing.attacks import cli
from robust_hashing.attacks.context import build_context

from .conftest import BITS, CLASSES, ToyDataset, train_toy_model


class FakeDataModule:
    """The HashingDataModule surface used by the attack command."""

    def __init__(self) -> None:
        self.splits = {
            "train": ToyDataset(40, 1),
            "query": ToyDataset(6, 2),
            "database": ToyDataset(30, 3),
        }

    def prepare_data(self) -> None:
        pass

    def setup(self, stage: str | None = None) -> None:
        pass

    def labels(self, split: str) -> torch.Tensor:
        return self.splits[split].labels

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        return DataLoader(self.splits[split], batch_size=4, shuffle=shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def train_eval_dataloader(self) -> DataLoader:
        return self._loader("train")

    def query_dataloader(self, max_queries: int | None = None) -> DataLoader:
        loader = self._loader("query")
        if max_queries is None:
            return loader
        return DataLoader(Subset(loader.dataset, range(max_queries)), batch_size=loader.batch_size)

    def database_dataloader(self) -> DataLoader:
        return self._loader("database")


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    return train_toy_model(steps=20)[0]


def test_build_context(trained, tmp_path) -> None:
    dm = FakeDataModule()
    cache = tmp_path / "somewhere"
    ctx = build_context(trained, dm, cache_dir=cache, model_key="k", dataset="flickr25k")
    assert ctx.train_codes.shape == (40, BITS) and ctx.db_codes.shape == (30, BITS)
    assert torch.equal(ctx.train_codes, trained.encode(dm.splits["train"].images))
    assert torch.equal(ctx.db_labels, dm.splits["database"].labels)
    assert ctx.num_classes == CLASSES and ctx.bits == BITS and ctx.model_key == "k"
    assert ctx.train_loader is not None and ctx.cache_dir == cache
    assert (ctx.target_pool.sum(1) > 0).all()
    # the encoded banks are cached per model key and reused
    assert (cache / "banks-k.pt").is_file()
    again = build_context(trained, dm, cache_dir=cache, model_key="k", dataset="flickr25k")
    assert torch.equal(again.train_codes, ctx.train_codes)
    assert torch.equal(again.db_codes, ctx.db_codes)


def test_attack_command_writes_report(trained, tmp_path, monkeypatch, capsys) -> None:
    ckpt = tmp_path / "toy.ckpt"
    state = {f"model.{k}": v for k, v in trained.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"bits": BITS, "backbone": "test_cnn"}, "state_dict": state}, ckpt
    )
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: FakeDataModule())
    out = tmp_path / "out" / "report.json"
    targets = tmp_path / "targets.pt"
    code = cli.main(
        [
            "--checkpoint",
            str(ckpt),
            "--attack",
            "dhta",
            "--targeted",
            "--quick",
            "--hp",
            "steps=3",
            "--max-queries",
            "4",
            "--top-k",
            "10",
            "--accelerator",
            "cpu",
            "--targets",
            str(targets),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["attack"] == "dhta" and report["mode"] == "targeted"
    assert report["n_queries"] == 4 and report["top_k"] == 10 and report["hp"]["steps"] == 3
    assert 0 <= report["adv_tmap"] <= 1 and targets.exists()
    assert "adv_tmap" in capsys.readouterr().out
    assert not list(out.parent.glob(".*.tmp"))


def test_attack_command_list_and_errors(capsys) -> None:
    assert cli.main(["--list"]) == 0
    assert "mainstay" in capsys.readouterr().out.split()
    with pytest.raises(SystemExit):
        cli.main(["--attack", "hag"])
    with pytest.raises(SystemExit):
        cli._hyper_parameters(["novalue"])
    assert cli._hyper_parameters(["steps=3", "eps=0.5", "flag=true"]) == {
        "steps": 3,
        "eps": 0.5,
        "flag": True,
    }


def test_format_table_one_row_per_attack_and_dash_for_missing_theory():
    from robust_hashing.attacks.cli import format_table

    base = {"asr": 0.5, "rmse": 0.01, "linf": 8 / 255, "seconds": 1.25}
    rows = [
        {
            "attack": "hag",
            "mode": "untargeted",
            "clean_map": 0.8,
            "adv_map": 0.2,
            "theory": 0.1,
            **base,
        },
        {
            "attack": "dhta",
            "mode": "targeted",
            "clean_tmap": 0.1,
            "adv_tmap": 0.6,
            "theory": None,
            **base,
        },
    ]
    lines = format_table(rows).splitlines()
    assert len(lines) == 4
    assert "| hag | untargeted | 0.8000 | 0.2000 | 0.1000 |" in lines[2]
    assert "| dhta | targeted | 0.1000 | 0.6000 | – |" in lines[3]
