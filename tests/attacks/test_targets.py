"""The target-label rule (algorithms §5.1) and its once-per-dataset storage."""

from __future__ import annotations

import pytest
import torch

from robust_hashing.attacks import draw_target_labels, load_or_draw_targets, unique_target_pool
from robust_hashing.attacks.targets import load_or_draw_stored_targets


@pytest.fixture
def labels() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    query = (torch.rand(50, 5, generator=g) < 0.3).float()
    db = (torch.rand(80, 5, generator=g) < 0.3).float()
    return query, db


def test_targets_are_db_labels_without_overlap(labels) -> None:
    query, db = labels
    targets = draw_target_labels(query, db, seed=0)
    assert targets.shape == query.shape
    pool = unique_target_pool(db)
    assert (pool.sum(1) > 0).all()
    for t in targets:
        assert (pool == t).all(dim=1).any(), "each target is a unique non-zero db label"
    overlap = (query * targets).sum(1)
    assert (overlap == 0).all()


def test_targets_reproducible_and_seeded(labels) -> None:
    query, db = labels
    assert torch.equal(draw_target_labels(query, db, 0), draw_target_labels(query, db, 0))
    assert not torch.equal(draw_target_labels(query, db, 0), draw_target_labels(query, db, 1))


def test_targets_least_overlap_fallback() -> None:
    db = torch.tensor([[1.0, 1, 0], [1, 1, 1], [0, 0, 0]])
    query = torch.tensor([[1.0, 1, 1], [0, 0, 1]])
    targets = draw_target_labels(query, db)
    assert torch.equal(targets[0], torch.tensor([1.0, 1, 0]))  # overlap 2 beats 3; zero row never
    assert torch.equal(targets[1], torch.tensor([1.0, 1, 0]))  # the only zero-overlap vector


def test_targets_uniform_among_eligible() -> None:
    db = torch.eye(4)
    query = torch.tensor([[1.0, 0, 0, 0]]).repeat(600, 1)
    targets = draw_target_labels(query, db, seed=3)
    counts = targets.sum(0)
    assert counts[0] == 0
    assert (counts[1:] > 150).all()


@pytest.mark.parametrize("suffix", [".pt", ".npy"])
def test_targets_saved_once_and_reused(labels, tmp_path, suffix) -> None:
    query, db = labels
    path = tmp_path / "sub" / f"targets{suffix}"
    first = load_or_draw_targets(path, query, db, seed=0)
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    again = load_or_draw_targets(path, query, db, seed=123)  # stored draw wins over a new seed
    assert torch.equal(first, again)
    assert path.stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="delete the file"):
        load_or_draw_targets(path, query[:10], db)


@pytest.mark.parametrize(("suffix", "stored_seed"), [(".pt", 7), (".npy", None)])
def test_stored_targets_report_the_seed_of_their_draw(
    labels, tmp_path, suffix, stored_seed
) -> None:
    query, db = labels
    path = tmp_path / f"targets{suffix}"
    drawn, seed = load_or_draw_stored_targets(path, query, db, seed=7)
    assert seed == 7 and torch.equal(drawn, draw_target_labels(query, db, seed=7))
    again, seed = load_or_draw_stored_targets(path, query, db, seed=0)  # read, not redrawn
    assert torch.equal(again, drawn) and seed == stored_seed  # .npy records no seed
