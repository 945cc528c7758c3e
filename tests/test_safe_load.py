"""No code runs on load: every torch.load is weights-only, and a pickle payload is refused."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest
import torch

from robust_hashing.main import main
from robust_hashing.models import create_hash_net
from robust_hashing.tasks import CheckpointError, HashingTask, load_hash_net
from robust_hashing.tasks.safe_load import plain, safe_torch_load
from tests.defenses.tiny_data import TinyDataModule, build, fit
from tests.devices import quiet_trainer
from tests.test_main import NUSWIDE, _fit_config, _one_error_line

PACKAGE = Path(__file__).resolve().parents[1] / "robust_hashing"
EMBEDDED = PACKAGE / "datasets" / "embedded.py"


# -- the source scan -------------------------------------------------------------------------
def _dotted(node: ast.AST) -> str:
    """``a.b.c`` of a Name/Attribute chain ('' for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def unsafe_loads(source: str) -> list[str]:
    """Calls of ``source`` that could unpickle arbitrary objects, as ``line: call``.

    ``torch.load`` without a literal ``weights_only=True``, ``numpy.load`` with
    ``allow_pickle`` other than a literal False, ``pickle.load(s)`` and any ``Unpickler``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        if name in ("torch.load", "load") or name.endswith(".torch.load"):
            value = keywords.get("weights_only")
            if not (isinstance(value, ast.Constant) and value.value is True):
                found.append(f"{node.lineno}: {name}")
        elif name in ("np.load", "numpy.load"):
            value = keywords.get("allow_pickle")
            if value is not None and not (isinstance(value, ast.Constant) and value.value is False):
                found.append(f"{node.lineno}: {name}")
        elif name.split(".")[-1] in ("loads", "load", "Unpickler") and "pickle" in name:
            found.append(f"{node.lineno}: {name}")
    return sorted(found, key=lambda entry: int(entry.split(":")[0]))


def test_the_scan_finds_unsafe_loads() -> None:
    source = (
        "import torch, pickle, numpy as np\n"
        "torch.load('a', weights_only=False)\n"
        "torch.load('b')\n"
        "torch.load('c', weights_only=flag)\n"
        "pickle.loads(b'')\n"
        "pickle.Unpickler(f).load()\n"
        "np.load('d', allow_pickle=True)\n"
        "torch.load('ok', map_location='cpu', weights_only=True)\n"
        "np.load('ok')\n"
    )
    assert [line.split(":")[0] for line in unsafe_loads(source)] == ["2", "3", "4", "5", "6", "7"]


def test_no_load_in_the_package_can_run_code() -> None:
    unsafe = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        found = unsafe_loads(text)
        if found:
            unsafe[str(path.relative_to(PACKAGE))] = found
        if path != EMBEDDED:
            assert "import pickle" not in text and "from pickle" not in text, path
    assert unsafe == {}
    # the embedded data's unpickler is the restricted one, and the only one
    embedded = EMBEDDED.read_text()
    assert "class RestrictedUnpickler(pickle.Unpickler)" in embedded
    assert "def find_class" in embedded


# -- a crafted checkpoint --------------------------------------------------------------------
class _CreatesFile:
    """Unpickling this object opens (so creates) ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (builtins.open, (self.path, "w"))


def _evil_checkpoint(tmp_path: Path, marker: Path, name: str = "evil.ckpt") -> Path:
    """A test_cnn task checkpoint, complete but for a payload among its hyper-parameters."""
    net = create_hash_net("test_cnn", 16)
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    hp = {"backbone": "test_cnn", "bits": 16, "loss": "dpsh", "note": _CreatesFile(marker)}
    path = tmp_path / name
    torch.save({"hyper_parameters": hp, "state_dict": state}, path)
    return path


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "payload_ran"
    path = _evil_checkpoint(tmp_path, marker)
    # the payload is live: an unrestricted load runs it (on a copy of the marker's name)
    probe = tmp_path / "probe_ran"
    torch.load(_evil_checkpoint(tmp_path, probe, "probe.ckpt"), weights_only=False)
    assert probe.exists()
    return path, marker


def _refused(line: str, path: Path) -> None:
    assert f"{path}: refused" in line and "io.open" in line


def test_load_hash_net_refuses_a_payload(evil) -> None:
    path, marker = evil
    with pytest.raises(CheckpointError) as info:
        load_hash_net(path)
    assert len(str(info.value).splitlines()) == 1
    _refused(str(info.value), path)
    assert not marker.exists()


def test_attack_command_refuses_a_payload(evil, capsys) -> None:
    path, marker = evil
    argv = ["attack", "--checkpoint", str(path), "--attack", "hag", "--accelerator", "cpu"]
    assert main(argv) == 1
    _refused(_one_error_line(capsys.readouterr().err, "attack"), path)
    assert not marker.exists()


def test_fit_refuses_a_payload_as_clean_checkpoint(evil, tmp_path, monkeypatch, capsys) -> None:
    path, marker = evil
    monkeypatch.chdir(tmp_path)
    model = {
        "class_path": "robust_hashing.defenses.NoDefense",
        "init_args": {"backbone": "test_cnn", "bits": 16, "clean_checkpoint": str(path)},
    }
    assert main(["fit", "--config", str(_fit_config(tmp_path, NUSWIDE, model))]) == 1
    _refused(_one_error_line(capsys.readouterr().err), path)
    assert not marker.exists()
    assert not (tmp_path / "runs").exists()


def test_fit_refuses_a_payload_as_ckpt_path(evil, tmp_path, monkeypatch, capsys) -> None:
    path, marker = evil
    monkeypatch.chdir(tmp_path)
    config = _fit_config(tmp_path, NUSWIDE)
    assert main(["fit", "--config", str(config), "--ckpt_path", str(path)]) == 1
    _refused(_one_error_line(capsys.readouterr().err), path)
    assert not marker.exists()
    assert main(["fit", "--config", str(config), "--weights_only", "false"]) == 2
    assert "--weights_only false would run code" in _one_error_line(capsys.readouterr().err)


def test_a_truncated_checkpoint_is_one_line(tmp_path) -> None:
    path = _evil_checkpoint(tmp_path, tmp_path / "unused")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=rf"{path}: cannot read the checkpoint"):
        safe_torch_load(path)


# -- what the package writes loads back safely ------------------------------------------------
def test_plain_turns_hyper_parameters_into_loadable_values(tmp_path) -> None:
    value = {"root": tmp_path, "sizes": (1, 2), "nested": [{"p": Path("a")}], "fn": len}
    out = plain(value)
    assert out == {"root": str(tmp_path), "sizes": (1, 2), "nested": [{"p": "a"}], "fn": repr(len)}
    torch.save(out, tmp_path / "x.pt")
    assert torch.load(tmp_path / "x.pt", weights_only=True) == out


class _PathDataModule(TinyDataModule):
    """Tiny data whose saved hyper-parameters hold a ``Path`` (not weights-only loadable)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.save_hyperparameters()


def test_task_checkpoints_load_weights_only(tmp_path) -> None:
    task = build(HashingTask)
    trainer = quiet_trainer(max_steps=1, limit_val_batches=0)
    trainer.fit(task, datamodule=_PathDataModule(tmp_path))
    path = tmp_path / "task.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["datamodule_hyper_parameters"]["root"] == str(tmp_path)
    net = load_hash_net(path)
    assert all(torch.equal(v, task.model.state_dict()[k]) for k, v in net.state_dict().items())


def test_defense_checkpoints_load_weights_only(tmp_path) -> None:
    from robust_hashing.defenses import NoDefense

    task = build(NoDefense)
    trainer = fit(task)
    path = tmp_path / "defense.ckpt"
    trainer.save_checkpoint(path)
    assert set(torch.load(path, weights_only=True)["hyper_parameters"]) >= {"bits", "backbone"}
    load_hash_net(path)


def test_backbone_weights_with_a_payload_are_refused(evil) -> None:
    from robust_hashing.models.backbones import load_local_weights

    path, marker = evil
    with pytest.raises(ValueError, match=rf"{path}: refused: .*io\.open"):
        load_local_weights(torch.nn.Linear(2, 2), str(path))
    assert not marker.exists()
