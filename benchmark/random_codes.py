"""Base rate: mAP@k of random ±1 codes on the embedded data (what a useless model scores).

.venv/bin/python benchmark/random_codes.py [--bits 32] [--top-k 1000] [--seeds 5]
"""

import argparse

import torch

from robust_hashing.datamodules import EmbeddedDataModule
from robust_hashing.datasets.embedded import relevance_fraction
from robust_hashing.metrics import mean_average_precision
from robust_hashing.ops import sign


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bits", type=int, default=32)
    p.add_argument("--top-k", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args()
    dm = EmbeddedDataModule()
    q, d = dm.labels("query"), dm.labels("database")
    print(f"relevant query-database pairs: {relevance_fraction(q, d):.4f}")
    values = []
    for seed in range(args.seeds):
        g = torch.Generator().manual_seed(seed)
        qc = sign(torch.randn(len(q), args.bits, generator=g))
        dc = sign(torch.randn(len(d), args.bits, generator=g))
        values.append(mean_average_precision(qc, dc, q, d, top_k=args.top_k))
    mean = sum(values) / len(values)
    print(
        f"random {args.bits}-bit codes: mAP@{args.top_k} = {mean:.4f} (mean of {args.seeds} seeds; "
        f"min {min(values):.4f}, max {max(values):.4f})"
    )


if __name__ == "__main__":
    main()
