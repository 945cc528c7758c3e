"""The stable Hamming ranking (protocol §4) of the top k without a full sort.

Under the stable tie rule (protocol §4) a query's ranking is: every database item at
distance 0 in row order, then every item at distance 1 in row order, and so on. The top k
is therefore made of all items closer than the k-th distance d* plus the first items (in row
order) at distance d*. :func:`stable_topk` finds a distance threshold t ≥ d* per query
from a strided sample of the database, keeps only the items at distance ≤ t (a few times k
of them instead of |DB|), checks exactly that at least k were kept (raising t for any query
where the sample misjudged), and orders the kept items by the integer key
(distance, row index) with a stable counting (radix) sort. The result is the exact index
list that a stable argsort of the whole row would start with.

On the CPU, blocks of queries run in parallel threads (each op single-threaded) and meet
the database one cache-sized tile at a time; compaction and radix sort run in numpy. On
other devices the blocks are large and every step runs in torch. A top k that is a large
part of the database (and the full ranking) is cut from a stable argsort of whole rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor

# Elements (queries × database items) of one block of distances (dense path).
CPU_BLOCK_ELEMENTS = 1 << 20
DEVICE_BLOCK_ELEMENTS = 1 << 27
# CPU top-k path: queries per block and database items per tile (a tile stays in cache).
CPU_QUERY_BLOCK = 64
CPU_TILE = 8192
# On the CPU, a top k of at least 1/DENSE_FRACTION of the database is cut from a full
# radix argsort of each row (compaction would keep most of the row anyway).
DENSE_FRACTION = 8
# Database items sampled per query to guess the threshold, and the head room asked of it.
SAMPLE_SIZE = 8192
HEADROOM = 1.2


def block_rows(n_db: int, device: torch.device, limit: int) -> int:
    """Queries per block: about a block's worth of elements, at least 1, at most ``limit``."""
    budget = CPU_BLOCK_ELEMENTS if device.type == "cpu" else DEVICE_BLOCK_ELEMENTS
    return max(1, min(limit, budget // max(n_db, 1)))


def distance_matrix_operand(db_codes: Tensor) -> Tensor:
    """The (K+1)×D float32 operand that turns one matmul into Hamming distances.

    With a query row ``[-q/2, K/2]`` the product is (K − qᵀd)/2 = D_H(q, d): an exact small
    integer in float32 for ±1 codes.
    """
    db = db_codes.float()
    ones = torch.ones(db.shape[0], 1, dtype=db.dtype, device=db.device)
    return torch.cat([db, ones], 1).t().contiguous()


def query_operand(codes: Tensor) -> Tensor:
    """The n×(K+1) float32 rows ``[-q/2, K/2]`` (see :func:`distance_matrix_operand`)."""
    half = torch.full((codes.shape[0], 1), codes.shape[1] / 2, device=codes.device)
    return torch.cat([-0.5 * codes.float(), half], 1)


def hamming_block(codes: Tensor, operand: Tensor) -> Tensor:
    """Hamming distances (float32, exact integers) of ±1 ``codes`` to the database of ``operand``."""
    return query_operand(codes) @ operand


def _threshold_from_sample(sample: np.ndarray, n_db: int, k: int) -> np.ndarray:
    """Per row of sampled distances, the least t with about HEADROOM·k items at ≤ t."""
    n = sample.shape[0]
    sample = sample.astype(np.int64)
    n_bins = int(sample.max()) + 1
    hist = np.bincount((sample + n_bins * np.arange(n)[:, None]).ravel(), minlength=n * n_bins)
    wanted = HEADROOM * k * sample.shape[1] / n_db
    return np.asarray((hist.reshape(n, n_bins).cumsum(1) < wanted).sum(1))


def _topk_tiled(query: Tensor, tiles: list[Tensor], sample: Tensor, k: int) -> np.ndarray:
    """The stable top k on the CPU, one cache-sized database tile at a time.

    ``query``: n×(K+1) rows of :func:`query_operand`; ``tiles``: column blocks of
    :func:`distance_matrix_operand`, in order; ``sample``: its strided columns.
    """
    n = query.shape[0]
    n_db = sum(t.shape[1] for t in tiles)
    threshold = _threshold_from_sample((query @ sample).numpy(), n_db, k)
    buffer = torch.empty(n, max(t.shape[1] for t in tiles))
    while True:
        rows, cols, dists, first = [], [], [], 0
        limit = threshold[:, None].astype(np.float32)
        for tile in tiles:
            width = tile.shape[1]
            dist = torch.mm(query, tile, out=buffer[:, :width]).numpy()
            flat = np.flatnonzero(dist <= limit)
            row = flat // width
            rows.append(row)
            cols.append(flat - row * width + first)
            dists.append(dist.ravel()[flat])
            first += width
        row = np.concatenate(rows)
        counts = np.bincount(row, minlength=n)
        short = counts < k
        if not short.any():
            break
        threshold = threshold + short  # rare: the sample misjudged these rows
    # For one row the kept items are in ascending column order across tiles, so a stable sort
    # on (row, distance) orders ties by database index.
    n_keys = int(threshold.max()) + 1
    keys = (np.concatenate(dists) + n_keys * row).astype(_radix_dtype(n * n_keys))
    ranked = np.concatenate(cols)[np.argsort(keys, kind="stable")]
    starts = np.cumsum(counts) - counts
    return np.asarray(ranked[starts[:, None] + np.arange(k)])


def _radix_dtype(top: int) -> type[np.integer]:
    """The narrowest unsigned dtype holding ``top``: numpy sorts ≤ 16-bit keys by radix."""
    return np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.int64


def _order_numpy(dist: np.ndarray, k: int) -> np.ndarray:
    """:func:`stable_order` on the CPU, in numpy (flatnonzero and a radix argsort)."""
    n, n_db = dist.shape
    stride = max(1, n_db // SAMPLE_SIZE)
    sample = dist[:, ::stride].astype(np.int64)
    n_bins = int(sample.max()) + 1
    hist = np.bincount((sample + n_bins * np.arange(n)[:, None]).ravel(), minlength=n * n_bins)
    wanted = HEADROOM * k * sample.shape[1] / n_db
    threshold = (hist.reshape(n, n_bins).cumsum(1) < wanted).sum(1)
    row_ends = np.arange(n + 1) * n_db
    while True:
        flat = np.flatnonzero(dist <= threshold[:, None].astype(dist.dtype))
        bounds = np.searchsorted(flat, row_ends)
        counts = np.diff(bounds)
        short = counts < k
        if not short.any():
            break
        threshold = threshold + short  # rare: the sample misjudged these rows
    rows = np.repeat(np.arange(n), counts)
    n_keys = int(threshold.max()) + 1
    keys = dist.ravel()[flat] + n_keys * rows
    ranked = (flat - n_db * rows)[np.argsort(keys.astype(_radix_dtype(n * n_keys)), kind="stable")]
    return ranked[bounds[:-1, None] + np.arange(k)]


def _order_torch(dist: Tensor, k: int) -> Tensor:
    """:func:`stable_order` in torch on any device (nonzero and a stable sort)."""
    n, n_db = dist.shape
    stride = max(1, n_db // SAMPLE_SIZE)
    sample = dist[:, ::stride].long()
    n_bins = int(sample.max()) + 1
    offsets = n_bins * torch.arange(n, device=dist.device)
    hist = torch.bincount((sample + offsets[:, None]).view(-1), minlength=n * n_bins)
    wanted = HEADROOM * k * sample.shape[1] / n_db
    threshold = (hist.view(n, n_bins).cumsum(1) < wanted).sum(1)
    row_ends = n_db * torch.arange(n + 1, device=dist.device)
    while True:
        flat = torch.nonzero((dist <= threshold[:, None].to(dist.dtype)).view(-1)).squeeze(1)
        bounds = torch.searchsorted(flat, row_ends)
        counts = bounds.diff()
        short = counts < k
        if not bool(short.any()):
            break
        threshold = threshold + short.long()  # rare: the sample misjudged these rows
    rows = torch.repeat_interleave(torch.arange(n, device=dist.device), counts)
    n_keys = int(threshold.max()) + 1
    keys = dist.reshape(-1)[flat].long() + n_keys * rows
    ranked = (flat - n_db * rows)[torch.sort(keys, stable=True).indices]
    return ranked[bounds[:-1, None] + torch.arange(k, device=dist.device)]


def stable_order(dist: Tensor, k: int) -> Tensor:
    """The first ``k`` database indices of each row of ``dist`` under the stable ranking.

    For k < D, a threshold t per row is guessed from a strided sample (every D/SAMPLE_SIZE-th
    item) so that about HEADROOM·k items lie at distance ≤ t; the items at distance ≤ t are
    kept, t is raised for any row that kept fewer than k, and the kept items are sorted
    stably by (row, distance). Every item of the top k is kept, so the result is exact.

    Args:
        dist: n×D Hamming distances (exact integers in a float or integer dtype).
        k: ranking depth, 1 ≤ k ≤ D.

    Returns:
        n×k int64 indices: ascending distance, ties by ascending database index.
    """
    cpu = dist.device.type == "cpu"
    if k >= dist.shape[1] or (cpu and DENSE_FRACTION * k >= dist.shape[1]):
        if cpu:
            values = dist.numpy().astype(_radix_dtype(int(dist.max())))
            return torch.from_numpy(np.argsort(values, axis=1, kind="stable")[:, :k])
        return torch.sort(dist, dim=1, stable=True).indices[:, :k]
    if cpu:
        return torch.from_numpy(_order_numpy(dist.numpy(), k))
    return _order_torch(dist, k)


@contextmanager
def _blocks_in_threads() -> Iterator[int]:
    """Run query blocks in parallel threads, each op single-threaded; yield the worker count.

    Many small ops split over cores wait on each other at every op (badly so on a loaded
    machine); whole blocks per thread do not. The torch thread count is restored on exit.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)


def stable_topk(
    query_codes: Tensor, db_codes: Tensor, k: int, *, limit: int
) -> Iterator[tuple[int, Tensor]]:
    """Yield ``(start, order)`` for blocks of at most ``limit`` queries (see :func:`stable_order`).

    ``order`` holds the top-``k`` database indices of queries ``start, start + 1, …``.
    """
    with torch.no_grad():
        operand = distance_matrix_operand(db_codes.detach())
        n_db = db_codes.shape[0]
        if query_codes.device.type == "cpu" and DENSE_FRACTION * k < n_db:
            tiles = [t.contiguous() for t in operand.split(CPU_TILE, dim=1)]
            sample = operand[:, :: max(1, n_db // SAMPLE_SIZE)].contiguous()
            rows = max(1, min(limit, CPU_QUERY_BLOCK))
            starts = list(range(0, query_codes.shape[0], rows))

            def block(start: int) -> np.ndarray:
                query = query_operand(query_codes[start : start + rows].detach())
                return _topk_tiled(query, tiles, sample, k)

            with _blocks_in_threads() as workers, ThreadPoolExecutor(workers) as pool:
                orders = list(pool.map(block, starts))
            for start, order in zip(starts, orders, strict=True):
                yield start, torch.from_numpy(order)
            return
        rows = block_rows(n_db, query_codes.device, limit)
        for start in range(0, query_codes.shape[0], rows):
            dist = hamming_block(query_codes[start : start + rows].detach(), operand)
            yield start, stable_order(dist, k)
