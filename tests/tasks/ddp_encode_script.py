"""Run ``encode`` under DDP with 2 CPU processes; each rank saves what it got (test helper)."""

import sys

import lightning as L
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1]))
from conftest import TinyHashingDataset

from robust_hashing.models import create_hash_net
from robust_hashing.tasks import encode, encode_direct


def main(out: str) -> None:
    torch.manual_seed(0)
    model = create_hash_net("test_cnn", 16)
    loader = DataLoader(TinyHashingDataset(37), batch_size=5)  # 37: shards of unequal size
    trainer = L.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    codes, labels = encode(model, loader, trainer=trainer)
    rank = trainer.global_rank
    torch.save({"codes": codes, "labels": labels}, f"{out}.rank{rank}")
    trainer.strategy.barrier()
    if rank == 0:
        res = {r: torch.load(f"{out}.rank{r}") for r in (0, 1)}
        torch.save(res, out)
        c, y = encode_direct(model, loader)
        torch.save({"codes": c, "labels": y}, f"{out}.single")


if __name__ == "__main__":
    main(sys.argv[1])
