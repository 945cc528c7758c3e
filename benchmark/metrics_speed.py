"""Time the chunked ``mean_average_precision`` against a naive full-matrix baseline.

    python benchmark/metrics_speed.py [--queries 1000] [--database 20000] [--bits 32]

Prints both timings, their ratio and the largest difference of the results (both rank by
Hamming distance with ties broken by database index, so they must agree).
"""

from __future__ import annotations

import argparse
import time

import torch

from robust_hashing.metrics import mean_average_precision


def naive_map(
    q: torch.Tensor, db: torch.Tensor, ql: torch.Tensor, dbl: torch.Tensor, k: int
) -> float:
    """Full Q×D matrices at once: distances, stable argsort, relevance, AP@k (convention a)."""
    dist = 0.5 * (q.shape[1] - q @ db.T)
    order = torch.sort(dist, dim=1, stable=True).indices[:, :k]
    rel = ((ql @ dbl.T) > 0).float().gather(1, order)
    hits = rel.cumsum(1)
    ranks = torch.arange(1, k + 1, dtype=torch.float32)
    r = rel.sum(1)
    ap = (rel * hits / ranks).sum(1) / r.clamp(min=1)
    return float(ap[r > 0].sum() / len(q))


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    best, value = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--database", type=int, default=20000)
    p.add_argument("--bits", type=int, default=32)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--top-k", type=int, default=5000)
    args = p.parse_args()
    g = torch.Generator().manual_seed(0)
    q = torch.randint(0, 2, (args.queries, args.bits), generator=g).float() * 2 - 1
    db = torch.randint(0, 2, (args.database, args.bits), generator=g).float() * 2 - 1
    ql = (torch.rand(args.queries, args.classes, generator=g) < 0.2).float()
    dbl = (torch.rand(args.database, args.classes, generator=g) < 0.2).float()
    t_chunk, m_chunk = timed(lambda: mean_average_precision(q, db, ql, dbl, args.top_k))
    t_naive, m_naive = timed(lambda: naive_map(q, db, ql, dbl, args.top_k))
    print(f"Q={args.queries} D={args.database} K={args.bits} k={args.top_k}")
    print(f"chunked mean_average_precision: {t_chunk * 1e3:9.1f} ms  mAP={m_chunk:.6f}")
    print(f"naive full-matrix baseline:     {t_naive * 1e3:9.1f} ms  mAP={m_naive:.6f}")
    print(
        f"ratio chunked / naive: {t_chunk / t_naive:.2f}   |difference| = {abs(m_chunk - m_naive):.2e}"
    )


if __name__ == "__main__":
    main()
