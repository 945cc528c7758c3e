"""Train a defense for a few steps under CPU DDP (2 processes, gloo) and dump each rank's banks.

Usage: python ddp_script.py NAME OUT_DIR  (run by tests/defenses/test_base.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lightning as L
import torch

from robust_hashing.defenses import get_defense
from tests.defenses.tiny_data import TinyDataModule, build


def main() -> None:
    name, out = sys.argv[1], Path(sys.argv[2])
    task = build(get_defense(name), attack_steps=2)
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        max_epochs=2,
        limit_train_batches=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(task, datamodule=TinyDataModule())
    banks = {
        "B": task.B,
        "Y": task.Y,
        "U": task.hash_loss.U,
        "w": task.model.hash_layer.weight.detach(),
    }
    torch.save({k: v.cpu() for k, v in banks.items()}, out / f"rank{trainer.global_rank}.pt")
    print("done", os.environ.get("LOCAL_RANK", "0"))


if __name__ == "__main__":
    main()
