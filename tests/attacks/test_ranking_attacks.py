"""The RobRank ranking attacks in Hamming space: direction of each figure, ε-ball, rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robust_hashing.attacks import AttackContext, get_attack, list_attacks
from robust_hashing.attacks.base import ATTACKS
from robust_hashing.attacks.ranking import RANKING_ATTACKS, evaluate_ranking
from robust_hashing.attacks.ranking.base import (
    hamming,
    insertion_rank,
    recall_at_1,
    stable_order,
    stable_rank,
)
from robust_hashing.metrics import ers, mean_average_precision
from robust_hashing.registry import accepted_hp

from .conftest import BITS, CLASSES, ToyDataset, train_toy_model

# attack -> [(figure, +1 if the attack raises it / -1 if it lowers it, least mean move)]
DIRECTIONS = {
    "rank_ca_plus": [("ca_plus", -1, 10.0)],
    # the inserted candidate ranks after every tie: its clean CA− figure is already high
    "rank_ca_minus": [("ca_minus", +1, 1.0)],
    "rank_qa_plus": [("qa_plus", -1, 1.0)],
    "rank_qa_minus": [("qa_minus", +1, 4.0)],
    "rank_tma": [("tma", +1, 0.03)],
    "rank_es": [("es_d", +1, 0.25), ("es_r", -1, 5.0)],
    "rank_ltm": [("ltm", -1, 5.0)],
    "rank_gtm": [("gtm", -1, 10.0)],
    "rank_gtt": [("gtt", -1, 5.0)],
}


@pytest.fixture(scope="module")
def toy():
    """A trained toy model; single-label database and queries, as RobRank's datasets."""
    torch.set_num_threads(1)
    net, data = train_toy_model(steps=30)
    db, q = ToyDataset(300, seed=50), ToyDataset(64, seed=51)
    keep, keep_q = db.labels.sum(1) == 1, q.labels.sum(1) == 1
    db_images, db_labels = db.images[keep], db.labels[keep]
    images, labels = q.images[keep_q][:16], q.labels[keep_q][:16]
    ctx = AttackContext(
        net.encode(data.images), data.labels, net.encode(db_images), db_labels, CLASSES, BITS
    )
    return net, ctx, images, labels


def test_registered_with_robrank_defaults(model, context) -> None:
    assert list_attacks("rank_*") == sorted(RANKING_ATTACKS)
    for name in RANKING_ATTACKS:
        attack = get_attack(name, model, context)
        assert (attack.eps, attack.step, attack.steps) == (8 / 255, 3 / 255, 32)
        assert not attack.random_start and attack.supported_modes == ("untargeted",)
        assert get_attack(name, model, context, quick=True).steps < 32


# hyper-parameters each ranking attack adds to the shared sign-PGD block and tanh_scale
OWN_HP = {
    "rank_ca_plus": {"top_fraction", "ties"},
    "rank_ca_minus": {"top_fraction", "ties"},
    "rank_qa_plus": {"top_fraction"},
    "rank_qa_minus": {"top_fraction"},
    "rank_gtt": {"retain_k"},
}


def test_ranking_attacks_take_the_sign_pgd_parameters(model, context) -> None:
    shared = {"model", "context", "targeted", "eps", "seed", "steps", "step", "random_start"}
    hp = {"eps": 4 / 255, "seed": 3, "steps": 2, "step": 1 / 255, "random_start": True}
    for name in RANKING_ATTACKS:
        assert accepted_hp(ATTACKS.get(name)) == shared | {"tanh_scale"} | OWN_HP.get(name, set())
        attack = get_attack(name, model, context, tanh_scale=2.0, **hp)
        assert {k: getattr(attack, k) for k in hp} == hp and attack.tanh_scale == 2.0
        with pytest.raises(ValueError, match="does not support targeted"):
            get_attack(name, model, context, targeted=True)


@pytest.mark.parametrize("name", RANKING_ATTACKS)
def test_attack_moves_its_figure(name, toy) -> None:
    net, ctx, images, labels = toy
    attack = get_attack(name, net, ctx, steps=10, step=2 / 255)
    adv = attack(images, labels)
    assert adv.min() >= 0 and adv.max() <= 1
    assert (adv - images).abs().max() <= attack.eps + 1e-6
    selection = attack.last_selection
    clean_codes = net.encode(images)
    clean = attack.score(clean_codes, clean_codes, labels, selection)
    attacked = attack.score(net.encode(adv), clean_codes, labels, selection)
    for figure, sign, least in DIRECTIONS[name]:
        move = float(attacked[figure].mean() - clean[figure].mean())
        assert sign * move >= least, (figure, float(clean[figure].mean()), move)


def test_stable_rank_helpers_match_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    dist = torch.randint(0, 4, (6, 15), generator=g)
    rows = torch.randint(0, 15, (6,), generator=g)
    order = np.stack([np.argsort(d, kind="stable") for d in dist.numpy()])
    assert torch.equal(stable_order(dist, 5), torch.from_numpy(order[:, :5]))
    expected = [int(np.where(order[i] == int(rows[i]))[0][0]) for i in range(6)]
    assert stable_rank(dist, rows).tolist() == expected
    cand = torch.randint(0, 4, (6,), generator=g)
    exclude = torch.tensor([0, -1, 3, 14, -1, 7])
    ins = [
        sum(1 for j in range(15) if j != int(exclude[i]) and dist[i, j] <= cand[i])
        for i in range(6)
    ]
    assert insertion_rank(dist, cand, exclude).tolist() == ins
    ties = [
        sum(1 for j in range(15) if j != int(exclude[i]) and dist[i, j] == cand[i])
        for i in range(6)
    ]
    mid = insertion_rank(dist, cand, exclude, ties="mid").tolist()
    assert mid == [r - t / 2 for r, t in zip(ins, ties, strict=True)]


def test_top_fraction_draws_come_from_the_top(toy) -> None:
    net, ctx, images, labels = toy
    clean = net.encode(images)
    top1 = stable_order(hamming(clean, ctx.db_codes), 1)[:, 0]
    # |DB| < 200: the top 1% is the single stable top-1 item.
    for name in ("rank_qa_minus", "rank_ca_minus", "rank_gtt"):
        attack = get_attack(name, net, ctx)
        assert torch.equal(attack.select(clean, labels), top1)
    qa_minus = get_attack("rank_qa_minus", net, ctx)
    assert qa_minus.score(clean, clean, labels, top1)["qa_minus"].eq(0).all()


def test_evaluate_ranking_per_query(toy) -> None:
    net, ctx, images, labels = toy
    idx = torch.arange(16) + 100
    batches = [(images[:10], labels[:10], idx[:10]), (images[10:], labels[10:], idx[10:])]
    report = evaluate_ranking(net, batches, ctx, hp={"steps": 2}, top_k=None)
    assert report.indices.tolist() == list(range(100, 116))
    assert len(report.per_query) == 10 and set(report.per_query) == set(report.per_query_clean)
    for key, values in report.per_query.items():
        assert values.shape == (16,)
        assert report.figures[key] == pytest.approx(float(values.mean()))
    assert report.clean_figures["es_d"] == 0 and report.clean_figures["gtt"] == 100
    summary = report.summary()
    assert summary["ers"] == pytest.approx(ers(report.figures))
    assert summary["ers_clean"] == pytest.approx(ers(report.clean_figures))
    clean = net.encode(images)
    expected_r1 = recall_at_1(clean, labels, ctx.db_codes, ctx.db_labels)
    assert summary["recall_at_1"] == pytest.approx(float(expected_r1.mean()))
    assert summary["map"] == pytest.approx(
        mean_average_precision(clean, ctx.db_codes, labels, ctx.db_labels)
    )


def test_candidate_tie_rules(toy) -> None:
    net, ctx, images, labels = toy
    clean = net.encode(images)
    last = get_attack("rank_ca_minus", net, ctx)
    mid = get_attack("rank_ca_minus", net, ctx, ties="mid")
    selection = last.select(clean, labels)
    after = last.score(clean, clean, labels, selection)["ca_minus"]
    half = mid.score(clean, clean, labels, selection)["ca_minus"]
    assert (half <= after).all() and half.mean() < after.mean()
    with pytest.raises(ValueError, match="ties must be one of"):
        get_attack("rank_ca_plus", net, ctx, ties="first")
