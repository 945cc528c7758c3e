"""attack_run_e2e: one attack evaluation end to end, reference recipe against ours.

    python benchmark/perf/attack_run_e2e.py [--device cuda] [--full]

Database encoding, Mainstay-PGD on the queries, then clean and robust mAP@k of the queries
against the database. ``--full``: AlexNet-32 at 224 px, 128 queries, 5,000 database
images, PGD-100, k = 1,000; CPU default: 64 px, 8 queries, 256 images, PGD-5, k = 100.

* baseline (reference recipe): database encoded with weights requiring grad (no
  ``no_grad``), the reference PGD loop (``loss.backward()``), SAAT's per-query numpy mAP
  (with a stable argsort here, so that both compute the same figure);
* ours: encoding under ``torch.no_grad`` with ``requires_grad_(False)``, the production
  attack and :func:`robust_hashing.metrics.mean_average_precision`.

``max_abs_diff``: the larger |baseline − ours| of the clean and the robust mAP.
"""

from __future__ import annotations

import common
import torch
from attackbench import production, reference_pgd, setting
from mapbench import saat_cal_map
from torch import Tensor

from robust_hashing.attacks.mainstay import Mainstay
from robust_hashing.metrics import mean_average_precision
from robust_hashing.ops import sign

FULL = {"backbone": "alexnet", "bits": 32, "image": 224, "batch": 128, "steps": 100,
        "database": 5000, "top_k": 1000}  # fmt: skip
CPU = {"backbone": "alexnet", "bits": 32, "image": 64, "batch": 8, "steps": 5,
       "database": 256, "top_k": 100}  # fmt: skip


def main() -> None:
    args = common.parser(__doc__).parse_args()
    device = common.setup(args)
    size = FULL if args.full else CPU
    print(f"attack_run_e2e: {size} on {common.device_name(device)}", flush=True)
    model, ctx, x, y = setting(size, device)
    g = torch.Generator().manual_seed(1)
    db_x = torch.rand(size["database"], 3, size["image"], size["image"], generator=g)
    db_y = ctx.db_labels[torch.randint(0, len(ctx.db_labels), (size["database"],), generator=g)]
    attack = Mainstay(model, ctx, steps=size["steps"])
    k, batch = size["top_k"], size["batch"]

    def encode(images: Tensor) -> Tensor:
        return torch.cat([sign(model(b.to(device))[1]) for b in images.split(batch)])

    def baseline() -> tuple[float, float]:
        model.requires_grad_(True)
        db = encode(db_x).detach().cpu().numpy()
        adv = reference_pgd(attack, x, y)
        q, qa = encode(x).detach().cpu().numpy(), encode(adv).detach().cpu().numpy()
        labels, dbl = y.cpu().numpy(), db_y.numpy()
        clean = saat_cal_map(q, db, labels, dbl, k, "stable")[0]
        return clean, saat_cal_map(qa, db, labels, dbl, k, "stable")[0]

    def ours() -> tuple[float, float]:
        model.eval().requires_grad_(False)
        with torch.no_grad():
            db = encode(db_x)
        adv = production(attack, x, y)
        with torch.no_grad():
            q, qa = encode(x), encode(adv)
        dbl = db_y.to(device)
        return mean_average_precision(q, db, y, dbl, k), mean_average_precision(qa, db, y, dbl, k)

    best, out = common.interleaved({"baseline": baseline, "ours": ours}, args.rounds, device)
    diff = max(abs(a - b) for a, b in zip(out["baseline"], out["ours"], strict=True))
    common.record(
        args,
        device,
        "attack_run_e2e",
        batch=batch,
        baseline=best["baseline"],
        ours=best["ours"],
        max_abs_diff=diff,
        figure=f"clean and robust mAP@{k}",
        sizes=size,
        clean_map=out["ours"][0],
        robust_map=out["ours"][1],
    )


if __name__ == "__main__":
    main()
