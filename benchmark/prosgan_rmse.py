"""ProS-GAN's perturbation RMSE and t-mAP on a briefly trained toy model (CPU, about 40 s a run).

Trains the 16-pixel toy hashing model of the attack tests (``tests/attacks/conftest.py``),
then trains ProS-GAN against it with small networks and reports, per λ_rec, the RMSE of
x′ − x in [0, 1] pixels and the t-mAP of the adversarial queries (64 queries, 100-item
database, targets by the shared rule):

    .venv/bin/python benchmark/prosgan_rmse.py --rec-weight 50 12.5
    .venv/bin/python benchmark/prosgan_rmse.py --rec-weight 50 --gen-arch official

A stronger reconstruction weight must give a smaller perturbation. The script passes no
option the ProS-GAN of earlier commits lacks (except with ``--gen-arch official``), so it
also measures the code before the reconstruction fix.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robust_hashing.attacks import AttackContext, get_attack
from robust_hashing.attacks.targets import draw_target_labels
from robust_hashing.metrics import mean_average_precision
from tests.attacks.conftest import BITS, CLASSES, ToyDataset, train_toy_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rec-weight", type=float, nargs="+", default=[50.0], help="λ_rec values")
    p.add_argument("--gan-epochs", type=int, default=150, help="stage-2 epochs (4 batches each)")
    p.add_argument("--gen-arch", default="ours", choices=["ours", "official"])
    args = p.parse_args()
    torch.set_num_threads(1)
    net, data = train_toy_model(steps=60)
    db, q = ToyDataset(100, seed=50), ToyDataset(64, seed=51)
    ctx = AttackContext(
        net.encode(data.images), data.labels, net.encode(db.images), db.labels, CLASSES, BITS,
        train_loader=DataLoader(data, batch_size=24, shuffle=True),
    )  # fmt: skip
    targets = draw_target_labels(q.labels, db.labels)
    clean = mean_average_precision(net.encode(q.images), ctx.db_codes, targets, db.labels)
    hp = {
        "proto_epochs": 1, "proto_steps": 300, "gan_epochs": args.gan_epochs,
        "decay_epochs": 0, "gen_ch": 16, "gen_enc_blocks": 1, "gen_dec_blocks": 1,
        "disc_ch": 16, "disc_layers": 3,
        **({"gen_arch": "official", "label_grid": 1} if args.gen_arch == "official" else {}),
    }  # fmt: skip
    for weight in args.rec_weight:
        start = time.time()
        attack = get_attack("prosgan", net, ctx, rec_weight=weight, **hp)
        adv = attack(q.images, q.labels, targets)
        rmse = (adv - q.images).pow(2).mean().sqrt().item()
        tmap = mean_average_precision(net.encode(adv), ctx.db_codes, targets, db.labels)
        print(
            f"rec_weight={weight:g}: RMSE {rmse:.4f}  t-mAP {tmap:.3f} (clean {clean:.3f})  "
            f"{time.time() - start:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
