"""``robust-hashing attack`` end to end and the context glue, on a fake data module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, Subset

from robust_hashing import datamodules
from robust_hashing.attacks import cli, draw_target_labels
from robust_hashing.attacks import evaluation as attack_evaluation
from robust_hashing.attacks.context import build_context
from robust_hashing.attacks.targets import read_targets
from robust_hashing.models import create_hash_net

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
    # the one evaluation path (evaluate_attack): per-query target AP, threat, effective hp
    assert report["per_query"]["idx"] == [0, 1, 2, 3]
    assert sum(report["per_query"]["ap"]) / 4 == pytest.approx(report["adv_tmap"])
    assert report["threat"]["norm"] == "linf" and report["attack_hp"]["steps"] == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dhta (targeted): t-mAP@10 ") and "on 4 queries" in lines[0]
    assert lines[-1] == f"wrote {out}" and not any("adv_tmap" in line for line in lines)
    assert not list(out.parent.glob(".*.tmp"))


@pytest.fixture
def targeted_run(trained, tmp_path, monkeypatch):
    """Run ``dhta --targeted`` on the fake data; returns (report, the targets it attacked)."""
    ckpt = tmp_path / "toy.ckpt"
    state = {f"model.{k}": v for k, v in trained.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"bits": BITS, "backbone": "test_cnn"}, "state_dict": state}, ckpt
    )
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: FakeDataModule())
    seen: list[torch.Tensor] = []

    class Spy(attack_evaluation.AttackEvaluation):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.targets)

    monkeypatch.setattr(attack_evaluation, "AttackEvaluation", Spy)

    def run(out: Path, *extra: str) -> tuple[dict, torch.Tensor]:
        argv = ["--checkpoint", str(ckpt), "--attack", "dhta", "--targeted", "--quick"]
        argv += ["--hp", "steps=2", "--max-queries", "4", "--accelerator", "cpu"]
        assert cli.main([*argv, "--out", str(out), *extra]) == 0
        return json.loads(out.read_text()), seen[-1]

    return run


def test_attack_command_target_seed_is_not_the_attack_seed(targeted_run, tmp_path) -> None:
    # algorithms §5.1 / protocol §7.6: one seeded draw of targets, shared by every attack
    first, targets = targeted_run(tmp_path / "a.json", "--seed", "0")
    second, again = targeted_run(tmp_path / "b.json", "--seed", "1")
    fake = FakeDataModule()
    drawn = draw_target_labels(fake.labels("query"), fake.labels("database"), seed=0)
    assert torch.equal(targets, drawn) and torch.equal(again, drawn)  # --target-seed 0
    assert (first["seed"], second["seed"]) == (0, 1)
    assert first["target_seed"] == second["target_seed"] == 0
    # the draw is stored next to each report
    assert first["targets_file"] == str(tmp_path / "a.targets.pt")
    assert torch.equal(read_targets(tmp_path / "b.targets.pt"), drawn)
    third, other = targeted_run(tmp_path / "c.json", "--seed", "0", "--target-seed", "7")
    assert third["target_seed"] == 7 and not torch.equal(other, drawn)


def test_attack_command_stored_targets_round_trip(targeted_run, tmp_path) -> None:
    first, targets = targeted_run(tmp_path / "a.json", "--target-seed", "3")
    stored = tmp_path / "a.targets.pt"
    stamp = stored.stat().st_mtime_ns
    second, again = targeted_run(tmp_path / "b.json", "--seed", "5", "--targets", str(stored))
    assert torch.equal(again, targets) and torch.equal(read_targets(stored), targets)
    assert second["targets_file"] == first["targets_file"] == str(stored)
    assert second["target_seed"] == 3  # the seed recorded in the stored file
    assert stored.stat().st_mtime_ns == stamp and not (tmp_path / "b.targets.pt").exists()


def test_attack_command_list_and_errors(capsys) -> None:
    assert cli.main(["--list"]) == 0
    assert "mainstay" in capsys.readouterr().out.split()  # details: tests/attacks/test_cli_help.py
    with pytest.raises(SystemExit):
        cli.main(["--attack", "hag"])
    with pytest.raises(SystemExit):
        cli.main(["--checkpoint", "x.ckpt", "--attack", "hag", "--hp", "novalue"])
    hp = ["--hp", "steps=3", "--hp", "eps=1e-3", "--hp", "flag=true"]
    assert dict(cli._parser().parse_args(hp).hp) == {
        "steps": 3,
        "eps": 0.001,  # a float, where YAML 1.1 would have kept the string "1e-3"
        "flag": True,
    }


def test_attack_command_loads_plugins_and_names_a_broken_one(capsys, tmp_path) -> None:
    from robust_hashing.attacks import ATTACKS

    good = tmp_path / "lab_attack.py"
    good.write_text(
        "from robust_hashing.attacks import ATTACKS, HashAttack\n"
        "@ATTACKS.register('lab_identity_xyz')\n"
        "class LabIdentity(HashAttack):\n"
        "    def forward(self, images, labels, targets):\n"
        "        return images\n"
    )
    bad = tmp_path / "bad_attack.py"
    bad.write_text("def broken(:\n")
    try:
        assert cli.main(["--plugin", str(good), "--list"]) == 0
        assert "lab_identity_xyz" in capsys.readouterr().out.split()
    finally:
        ATTACKS.remove("lab_identity_xyz")
    assert cli.main(["--plugin", str(bad), "--list"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == f"robust-hashing attack: error: plugin {bad}: SyntaxError: invalid syntax (line 1)"
    )


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


# --------------------------------------------------------------------------- bad input
# Every bad input ends in one line on stderr (after the usage line for a usage error) that
# names the value or file, with exit 2 (usage) or 1 (unreadable file); nothing is encoded.

NUSWIDE = Path(__file__).resolve().parents[1] / "data" / "nuswide"


def _usage_error(capsys, argv: list[str]) -> str:
    """Run the command expecting an argparse error; return its one error line."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("usage: robust-hashing attack")
    assert lines[-1].startswith("robust-hashing attack: error: ")
    return lines[-1]


def _error(capsys, argv: list[str], code: int = 1) -> str:
    """Run the command expecting a one-line error and exit ``code``; return the line."""
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("robust-hashing attack: error: ")
    return errors[0]


@pytest.fixture
def untrained_ckpt(tmp_path) -> Path:
    """A valid checkpoint of an untrained test_cnn (loading it is cheap)."""
    torch.manual_seed(0)
    net = create_hash_net("test_cnn", BITS)
    ckpt = tmp_path / "toy.ckpt"
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"bits": BITS, "backbone": "test_cnn"}, "state_dict": state}, ckpt
    )
    return ckpt


@pytest.fixture
def no_encoding(monkeypatch):
    """Fail the test if a command gets as far as encoding the banks."""

    def refuse(*args, **kwargs):
        raise AssertionError("the banks were about to be encoded")

    monkeypatch.setattr("robust_hashing.attacks.context._banks", refuse)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--checkpoint", "x.ckpt"], "--checkpoint and --attack are required"),
        (["--checkpoint", "x.ckpt", "--attack", "nope"], "unknown attack 'nope'"),
        (["--checkpoint", "x.ckpt", "--attack", "hag", "--targeted"], "does not support targeted"),
        (
            ["--checkpoint", "x.ckpt", "--attack", "hag", "--hp", "foo"],
            "expected KEY=VALUE such as steps=20 or eps=0.05, got 'foo'",
        ),
        (["--checkpoint", "x.ckpt", "--attack", "hag", "--hp", "eps=[1"], "invalid YAML value"),
        (
            ["--checkpoint", "x.ckpt", "--attack", "hag", "--hp", "foo=1"],
            "attack 'hag' has no hyper-parameter 'foo'",
        ),
        (
            ["--checkpoint", "x.ckpt", "--attack", "all", "--hp", "steps=3"],
            "hyper-parameter 'steps' is not accepted by",
        ),
        (["--checkpoint", "x.ckpt", "--attack", "hag", "--top-k", "0"], "--top-k: must be at"),
        (["--checkpoint", "x.ckpt", "--attack", "hag", "--asr-n", "-1"], "--asr-n: must be at"),
        (
            ["--checkpoint", "x.ckpt", "--attack", "hag", "--max-queries", "0"],
            "--max-queries: must be at least 1, got 0",
        ),
        (
            ["--checkpoint", "x.ckpt", "--attack", "hag", "--top-k", "many"],
            "expected a positive integer, got 'many'",
        ),
        (["--checkpoint", "x.ckpt", "--attack", "hag", "--data", "nope"], "data module 'nope'"),
    ],
)
def test_attack_command_usage_errors(capsys, no_encoding, argv, expected) -> None:
    assert expected in _usage_error(capsys, argv)


def test_attack_command_data_follows_the_checkpoint(capsys, untrained_ckpt, no_encoding) -> None:
    from robust_hashing.attacks.cli_data import resolve_data

    ckpt = torch.load(untrained_ckpt, weights_only=False)
    assert resolve_data(None, None, ckpt) == ("embedded", {})  # records no class count
    ckpt["hyper_parameters"]["num_classes"] = 21
    stored = {"root": "/data/nus", "batch_size": 64, "resize": 32, "crop": 32, "flip": True}
    ckpt["datamodule_hyper_parameters"] = stored
    name, kwargs = resolve_data(None, None, ckpt)
    assert name == "nuswide" and kwargs == {"root": "/data/nus", "resize": 32, "crop": 32,
                                            "flip": True}  # fmt: skip
    assert resolve_data(None, "/moved", ckpt)[1]["root"] == "/moved"
    torch.save(ckpt, untrained_ckpt)
    argv = ["--checkpoint", str(untrained_ckpt), "--attack", "hag"]
    line = _error(capsys, [*argv, "--data", "flickr25k"], code=2)
    assert line.endswith("--data flickr25k has 38 classes but the checkpoint's model was trained "
                         "on 21; pass the data it was trained on")  # fmt: skip
    del ckpt["datamodule_hyper_parameters"]
    torch.save(ckpt, untrained_ckpt)
    assert _error(capsys, argv, code=2).endswith(
        "--data nuswide needs --root (the folder of its list files)"
    )
    ckpt["hyper_parameters"]["num_classes"] = 7
    torch.save(ckpt, untrained_ckpt)
    assert _error(capsys, argv, code=2).endswith(
        "pass --data: the checkpoint's model has 7 classes, which no registered data has"
    )


def test_attack_command_bad_accelerator(capsys, untrained_ckpt, no_encoding) -> None:
    line = _error(
        capsys,
        ["--checkpoint", str(untrained_ckpt), "--attack", "hag", "--accelerator", "bogus"],
        code=2,
    )
    assert "--accelerator 'bogus'" in line


def test_attack_command_missing_and_garbage_checkpoint(capsys, tmp_path, no_encoding) -> None:
    missing = tmp_path / "missing.ckpt"
    argv = ["--attack", "hag", "--accelerator", "cpu", "--checkpoint"]
    assert str(missing) in _error(capsys, [*argv, str(missing)])
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"this is no checkpoint")
    line = _error(capsys, [*argv, str(garbage)])
    assert f"{garbage}: cannot read the checkpoint" in line
    torch.save({"state_dict": {}}, garbage)  # readable, but not a task checkpoint
    assert f"{garbage}: not a robust_hashing task checkpoint" in _error(
        capsys, [*argv, str(garbage)]
    )


def test_attack_command_corrupt_targets(capsys, tmp_path, untrained_ckpt, no_encoding) -> None:
    targets = tmp_path / "targets.pt"
    targets.write_bytes(b"\x00\x01 not a tensor file")
    argv = ["--checkpoint", str(untrained_ckpt), "--attack", "dhta", "--targeted"]
    line = _error(capsys, [*argv, "--accelerator", "cpu", "--targets", str(targets)])
    assert f"{targets}: cannot read stored target labels" in line


def test_attack_command_targets_drawn_with_another_seed(
    capsys, tmp_path, untrained_ckpt, no_encoding
) -> None:
    targets = tmp_path / "targets.pt"
    torch.save({"targets": torch.eye(CLASSES)[:2], "seed": 0}, targets)
    argv = ["--checkpoint", str(untrained_ckpt), "--attack", "dhta", "--targeted"]
    argv += ["--accelerator", "cpu", "--targets", str(targets)]
    line = _error(capsys, [*argv, "--target-seed", "4"])
    assert f"{targets}: target labels were drawn with seed 0, not --target-seed 4" in line


def test_attack_command_broken_list_file(capsys, broken_nuswide, untrained_ckpt, no_encoding):
    root = broken_nuswide
    argv = ["--checkpoint", str(untrained_ckpt), "--attack", "hag", "--accelerator", "cpu"]
    line = _error(capsys, [*argv, "--data", "nuswide", "--root", str(root)])
    assert "test_label.txt:3: expected 21 label values, got 20" in line
    (root / "test_label.txt").write_bytes(b"0 1\n\xff\xfe\n")  # not UTF-8
    line = _error(capsys, [*argv, "--data", "nuswide", "--root", str(root)])
    assert "test_label.txt:2: not UTF-8 text" in line


def test_attack_command_hp_value_refused_by_the_attack(capsys, untrained_ckpt, monkeypatch):
    # a hyper-parameter the signature accepts but the attack refuses fails in one line too
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: FakeDataModule())
    argv = ["--checkpoint", str(untrained_ckpt), "--attack", "hag", "--accelerator", "cpu"]

    def refuse(*args, **kwargs):
        raise ValueError("steps must be at least 10, got 3")

    monkeypatch.setattr("robust_hashing.attacks.get_attack", refuse)
    line = _error(capsys, [*argv, "--hp", "steps=3"], code=2)
    assert "attack 'hag': steps must be at least 10, got 3" in line


def test_accepted_hyper_parameters_follow_kwargs_up_the_mro() -> None:
    from robust_hashing.attacks import ATTACKS, HashAttack
    from robust_hashing.registry import accepted_hp

    hag = accepted_hp(ATTACKS.get("hag"))
    assert hag is not None and {"steps", "eps", "seed"} <= hag and "proto_epochs" not in hag
    tha = accepted_hp(ATTACKS.get("tha"))  # THA(*args, **kwargs) → PGD → base
    assert tha is not None and {"proto_epochs", "eps", "seed", "steps"} <= tha

    class Anything(HashAttack):
        def __init__(self, *args, **kwargs) -> None:
            pass

    class Open:
        def __init__(self, **kwargs) -> None:
            pass

    assert "eps" in accepted_hp(Anything)
    assert accepted_hp(Open) is None


def test_attack_help_shows_defaults_and_requirements(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: the k the checkpoint was validated with" in out
    assert "(default: the one the checkpoint was trained on" in out
    assert "required unless --list" in out
    for option in ("--data", "--asr-n", "--seed", "--target-seed", "--accelerator"):
        assert option in out
    assert "seed of Lightning" in out and "Lightning accelerator" in out


def test_attack_jobs_all_and_targeted() -> None:
    from robust_hashing.attacks import ATTACKS, list_attacks
    from robust_hashing.attacks.cli import attack_jobs

    assert attack_jobs("hag", False) == [("hag", "untargeted")]
    assert attack_jobs("dhta", True) == [("dhta", "targeted")]
    every = attack_jobs("all", False)
    hashing = [n for n in list_attacks() if getattr(ATTACKS.get(n), "protocol", "") != "ranking"]
    hashing = [n for n in hashing if ATTACKS.get(n).in_all]  # not the sanity baselines
    assert len(every) == sum(len(ATTACKS.get(n).supported_modes) for n in hashing)
    assert not any(n.startswith("rank_") for n, _ in every)  # the ranking protocol's own attacks
    targeted = attack_jobs("all", True)
    assert targeted == [(n, m) for n, m in every if m == "targeted"] and targeted
