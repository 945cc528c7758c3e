"""Shared machinery of the RobRank ranking attacks ported to Hamming space (protocol §8).

**Roles.** RobRank attacks a test set against itself (every test image is both a query and
a candidate, the self-match being dropped). Here the perturbed images are always rows of
the query split (the images the attack contract receives) and the candidate set is the
database of the attacked model (``context.db_codes``, ``context.db_labels``): the set every
other metric of the suite ranks, disjoint from the queries (so no self-match is dropped),
larger (finer rank percentiles, a non-trivial top 1%) and scored with the same relevance
rule. A candidate attack (CA±) perturbs a query-split image as a *new* candidate and ranks
it among the database items in the ranking of a database item acting as the query.

**Ranking.** Gradients use the relaxed Hamming distance (K − h·b)/2 of the tanh outputs
h = tanh(s·z) (s = ``tanh_scale``, 1 by default); ranks use the ±1 codes, the integer
Hamming distance and the project's stable tie rule (ties by ascending database row index,
protocol §4). An inserted candidate is ranked as database row D, i.e. after every database
item at the same distance. Rank percentiles are 100·rank/D with 0-based ranks.

**Engine.** ℓ∞ sign-PGD as in RobRank: ε = 8/255, step 3/255, 32 iterations, no random
start, loss summed over the batch.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.pgd import SignPGDBase
from robust_hashing.ops import hamming_distance


def hamming(a: Tensor, b: Tensor) -> Tensor:
    """Integer Hamming distances (int64) between ±1 code matrices ``a`` (n×K) and ``b`` (m×K)."""
    return hamming_distance(a, b).round().long()


def relaxed_distance(h: Tensor, codes: Tensor) -> Tensor:
    """Relaxed Hamming distances (K − h bᵀ)/2 between relaxed codes ``h`` (n×K) and ``codes``."""
    return 0.5 * (h.shape[1] - h @ codes.to(h).t())


def stable_order(dist: Tensor, m: int) -> Tensor:
    """Row indices of the ``m`` first items of each row of ``dist`` (n×D, integer distances).

    Ascending distance, ties by ascending column index (the stable tie rule).
    """
    n_db = dist.shape[1]
    index = torch.arange(n_db, device=dist.device, dtype=torch.long)
    keys = dist.long() * n_db + index
    return keys.topk(min(m, n_db), dim=1, largest=False, sorted=True).indices


def stable_rank(dist: Tensor, rows: Tensor) -> Tensor:
    """0-based position of database row ``rows[i]`` in the stable ranking of ``dist[i]``.

    Args:
        dist: n×D integer distances.
        rows: n database row indices.

    Returns:
        int64 ranks: #{j: d_j < d_c} + #{j < c: d_j = d_c} with c = ``rows[i]``.
    """
    d_c = dist.gather(1, rows.view(-1, 1))
    index = torch.arange(dist.shape[1], device=dist.device).view(1, -1)
    ahead = (dist < d_c) | ((dist == d_c) & (index < rows.view(-1, 1)))
    return ahead.sum(1)


TIE_RULES = ("last", "mid")


def insertion_rank(
    db_dist: Tensor, cand_dist: Tensor, exclude: Tensor, ties: str = "last"
) -> Tensor:
    """0-based rank of an outside candidate among the database items (float64).

    Args:
        db_dist: n×D integer distances of the database items to each row's query.
        cand_dist: n integer distances of the candidate to that query.
        exclude: n database rows left out of the count (the query's own row), −1 for none.
        ties: ``"last"``: the candidate is appended as database row D, so the stable tie
            rule puts it after every item at its distance: #{j: d_j ≤ d}; ``"mid"`` (ours):
            the expected rank under a random tie-break, #{j: d_j < d} + #{j: d_j = d}/2.
    """
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    index = torch.arange(db_dist.shape[1], device=db_dist.device).view(1, -1)
    kept = index != exclude.view(-1, 1)
    cand = cand_dist.view(-1, 1)
    below = ((db_dist < cand) & kept).sum(1).double()
    equal = ((db_dist == cand) & kept).sum(1).double()
    return below + (equal if ties == "last" else 0.5 * equal)


def pair_hamming(a: Tensor, b: Tensor) -> Tensor:
    """Integer Hamming distance (int64) between the i-th rows of ±1 codes ``a`` and ``b``."""
    return (0.5 * (a.shape[1] - (a.float() * b.float()).sum(1))).round().long()


def pair_relaxed(h: Tensor, codes: Tensor) -> Tensor:
    """Relaxed Hamming distance (K − h_i·b_i)/2 between the i-th rows of ``h`` and ``codes``."""
    return 0.5 * (h.shape[1] - (h * codes.to(h)).sum(1))


def recall_at_1(
    codes: Tensor, labels: Tensor, db_codes: Tensor, db_labels: Tensor, *, chunk_size: int = 256
) -> Tensor:
    """Per-query R@1 (%): 100 if the stable top-1 database item shares a label, else 0."""
    parts = []
    for start in range(0, codes.shape[0], chunk_size):
        top1 = stable_order(hamming(codes[start : start + chunk_size], db_codes), 1)[:, 0]
        shared = (labels[start : start + chunk_size].float() * db_labels[top1].float()).sum(1)
        parts.append(100.0 * (shared > 0).double())
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.float64)


def top_fraction_size(n_db: int, fraction: float) -> int:
    """How many database items form the query's "top fraction" (at least 1)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {fraction}")
    return max(1, int(n_db * fraction))


class RankingAttack(SignPGDBase):
    """Base of the ranking attacks: a per-query selection, a relaxed loss and a figure.

    :meth:`forward` encodes the clean queries, draws the selection (:meth:`select`, kept
    in :attr:`last_selection` so that :meth:`score` can score the same draw) and runs
    sign-PGD on :meth:`loss`. :meth:`score` turns ±1 codes into the per-query figure(s).

    Args:
        model: attacked hash network.
        context: attack context; its database is the candidate set.
        targeted: must be False (RobRank's targets are drawn from the candidate set).
        eps: L∞ budget (8/255).
        seed: seed of the random draws (query/candidate selection, random start).
        steps: PGD iterations (32).
        step: signed step size (3/255).
        random_start: uniform start in the ε-ball (False, as RobRank).
        tanh_scale: s of the relaxed codes tanh(s·z) the loss is computed on (1).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted",)
    protocol: ClassVar[str] = "ranking"  # scored by evaluate_ranking, not as an mAP cell
    quick: ClassVar[dict[str, Any]] = {"steps": 5}
    figures: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *args: Any,
        steps: int = 32,
        step: float = 3 / 255,
        random_start: bool = False,
        tanh_scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, steps=steps, step=step, random_start=random_start, **kwargs)
        self.tanh_scale = tanh_scale
        self.last_selection: Tensor | None = None
        self.requires_context()

    def database(self) -> tuple[Tensor, Tensor]:
        """The candidate set: database codes and labels on the model's device."""
        ctx = self.requires_context()
        return ctx.db_codes, ctx.db_labels

    def draw(self, n: int, high: int) -> Tensor:
        """``n`` uniform integers in [0, ``high``), from the attack's seeded generator."""
        return torch.randint(high, (n,), generator=self.generator).to(self.device)

    def draw_rows(self, clean: Tensor, top_fraction: float | None) -> Tensor:
        """One database row per query, drawn uniformly.

        From the whole database if ``top_fraction`` is None, else from the first
        ``top_fraction`` of the query's clean stable ranking.
        """
        db_codes, _ = self.database()
        n, n_db = clean.shape[0], db_codes.shape[0]
        if top_fraction is None:
            return self.draw(n, n_db)
        top = stable_order(hamming(clean, db_codes), top_fraction_size(n_db, top_fraction))
        return top.gather(1, self.draw(n, top.shape[1]).view(-1, 1)).view(-1)

    def select(self, clean: Tensor, labels: Tensor) -> Tensor:
        """Database rows chosen for each query (n int64; −1 where none). Default: none."""
        return torch.full((clean.shape[0],), -1, dtype=torch.long, device=clean.device)

    @abstractmethod
    def loss(self, h: Tensor, clean: Tensor, labels: Tensor, selection: Tensor) -> Tensor:
        """Per-query loss to minimise (n), from relaxed codes ``h`` of the perturbed images."""

    @abstractmethod
    def score(
        self, codes: Tensor, clean: Tensor, labels: Tensor, selection: Tensor
    ) -> dict[str, Tensor]:
        """Per-query figure(s) (float64, keyed as :attr:`figures`) of ±1 ``codes``.

        Args:
            codes: ±1 codes of the images to score (adversarial, or clean for the baseline).
            clean: ±1 codes of the clean images.
            labels: query labels.
            selection: the draw of :meth:`select` for these queries.
        """

    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Select, then sign-PGD on the summed per-query loss."""
        clean = self.model.encode(images)
        selection = self.select(clean, labels)
        self.last_selection = selection

        def closure(adv: Tensor, t: int) -> Tensor:
            h = self.model(adv, self.tanh_scale)[1]
            return self.loss(h, clean, labels, selection).sum()

        return self.run_pgd(images, closure)
