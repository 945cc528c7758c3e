"""The mAP workloads: SAAT's per-query numpy recipe against ``mean_average_precision``.

Synthetic data with a fixed seed: each class has a random ±1 centre code; an item's code is
the sign of the sum of its classes' centres (plus a little noise) with a fraction of bits
flipped, so relevant items lie near and distances tie heavily, as with trained codes.

* baseline: SAAT's ``cal_map`` recipe (numpy, one query at a time: label product, Hamming
  distances, ``np.argsort`` with numpy's default (unstable) kind, AP@k over the top k);
* ours: :func:`robust_hashing.metrics.mean_average_precision` (convention (a));
* reference: the same per-query numpy loop with a **stable** argsort, i.e. the stable-tie
  figure of protocol §4 (timed once, after the rounds: ``baseline_stable``,
  ``ratio_stable``). ``max_abs_diff`` is the largest
  |ours − reference| over every per-query AP@k and both mAP conventions;
  ``baseline_tie_diff`` is |baseline − reference|, the effect of the unstable sort.
"""

from __future__ import annotations

import time
from typing import Any

import common
import numpy as np
import torch

from robust_hashing.metrics import average_precision_per_query, map_from_ap, mean_average_precision


def synthetic(
    n_query: int, n_db: int, bits: int, classes: int, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Query/database codes (±1 float32) and multi-hot labels with class structure."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randint(0, 2, (classes, bits), generator=g).float() * 2 - 1

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = (torch.rand(n, classes, generator=g) < 1.5 / classes).float()
        labels[torch.arange(n), torch.randint(0, classes, (n,), generator=g)] = 1.0
        labels[: max(1, n // 100)] = 0.0  # a few all-zero label rows
        raw = labels @ centres + 0.1 * torch.randn(n, bits, generator=g)
        codes = torch.where(raw >= 0, 1.0, -1.0)
        flip = torch.rand(n, bits, generator=g) < 0.15
        return torch.where(flip, -codes, codes), labels

    q, ql = split(n_query)
    db, dbl = split(n_db)
    return q, db, ql, dbl


def saat_cal_map(
    q: np.ndarray, db: np.ndarray, ql: np.ndarray, dbl: np.ndarray, top_k: int, kind: str
) -> tuple[float, np.ndarray]:
    """SAAT's per-query recipe; returns mAP (convention (a)) and per-query AP (NaN: no hit)."""
    bits = q.shape[1]
    ap = np.full(q.shape[0], np.nan)
    for i in range(q.shape[0]):
        gnd = (ql[i] @ dbl.T > 0).astype(np.float32)
        hamm = 0.5 * (bits - q[i] @ db.T)
        gnd = gnd[np.argsort(hamm, kind=kind)][:top_k]
        hits = int(gnd.sum())
        if hits == 0:
            continue
        ranks = np.flatnonzero(gnd == 1) + 1.0
        ap[i] = np.mean(np.linspace(1, hits, hits) / ranks)
    return float(np.nansum(ap) / q.shape[0]), ap


def run(name: str, full: dict[str, int], cpu: dict[str, int], doc: str) -> None:
    """Parse the options, time baseline and ours interleaved, write the record."""
    p = common.parser(doc, rounds=1)
    args = p.parse_args()
    device = common.setup(args)
    size = full if args.full else cpu
    print(f"{name}: {size} on {common.device_name(device)}", flush=True)
    q, db, ql, dbl = synthetic(size["queries"], size["database"], size["bits"], size["classes"])
    k = size["top_k"]
    arrays = [t.numpy() for t in (q, db, ql, dbl)]
    on_device = [t.to(device) for t in (q, db, ql, dbl)]

    fns: dict[str, Any] = {
        "baseline": lambda: saat_cal_map(*arrays, k, "quicksort")[0],
        "ours": lambda: mean_average_precision(*on_device, k),
    }
    best, values = common.interleaved(fns, args.rounds, device)
    start = time.perf_counter()
    reference, ref_ap = saat_cal_map(*arrays, k, "stable")
    stable_seconds = time.perf_counter() - start
    ap = average_precision_per_query(*on_device, k).cpu().numpy()
    ref_hit = float(np.nanmean(ref_ap)) if np.any(~np.isnan(ref_ap)) else 0.0
    ours_hit = map_from_ap(torch.from_numpy(ap), hit_only=True)
    if not np.array_equal(np.isnan(ap), np.isnan(ref_ap)):
        raise SystemExit(f"{name}: ours and the reference disagree on which queries have a hit")
    diff = max(
        float(np.nanmax(np.abs(ap - ref_ap))) if np.any(~np.isnan(ap)) else 0.0,
        abs(values["ours"] - reference),
        abs(ours_hit - ref_hit),
    )
    common.record(
        args,
        device,
        name,
        batch=size["queries"],
        baseline=best["baseline"],
        ours=best["ours"],
        max_abs_diff=diff,
        figure=f"mAP@{k} (convention a) and every per-query AP@{k}",
        sizes=size,
        map=values["ours"],
        baseline_tie_diff=abs(values["baseline"] - reference),
        baseline_stable=round(stable_seconds, 4),
        ratio_stable=round(stable_seconds / best["ours"], 2),
    )
    if diff > 1e-9:
        raise SystemExit(f"{name}: |ours - stable reference| = {diff:.3g} > 1e-9")
