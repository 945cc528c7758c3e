"""``robust-hashing attack`` warns when the attack changed no bit of any query's code."""

from __future__ import annotations

from pathlib import Path

import torch

from robust_hashing import datamodules
from robust_hashing.attacks import ATTACKS, cli
from robust_hashing.models import create_hash_net

from .conftest import BITS
from .test_cli import FakeDataModule

PLUGIN = """\
from robust_hashing.attacks import ATTACKS, HashAttack

@ATTACKS.register("lab_still_xyz")
class Still(HashAttack):
    def forward(self, images, labels, targets):
        return images  # perturbs nothing: no code can change
"""


def test_an_attack_that_flips_no_bit_is_warned_about(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(datamodules, "get_datamodule", lambda name, **kw: FakeDataModule())
    torch.manual_seed(0)
    net = create_hash_net("test_cnn", BITS)
    ckpt = tmp_path / "toy.ckpt"
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    torch.save({"hyper_parameters": {"bits": BITS, "backbone": "test_cnn"}, "state_dict": state},
               ckpt)  # fmt: skip
    plugin = tmp_path / "still.py"
    plugin.write_text(PLUGIN)
    argv = ["--checkpoint", str(ckpt), "--attack", "lab_still_xyz", "--accelerator", "cpu",
            "--plugin", str(plugin), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    try:
        assert cli.main(argv) == 0
    finally:
        ATTACKS.remove("lab_still_xyz")
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("robust-hashing attack: warn")]
    expected = (
        "robust-hashing attack: warning: attack 'lab_still_xyz' changed no bit of any query's "
        "code (bit_flip 0 over 6 queries): check its hyper-parameters"
    )
    assert warnings == [expected]
