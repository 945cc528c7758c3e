"""evaluate_attack: the one evaluation path (per-query AP, threat, hp, transfer examples)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from robust_hashing.attacks import ATTACKS, AttackContext, get_attack
from robust_hashing.attacks.evaluate import evaluate_attack, resolved_hp, score_adversarial
from robust_hashing.attacks.hag import HAG
from robust_hashing.metrics import average_precision_per_query
from tests.devices import quiet_trainer

from .conftest import BITS, CLASSES, ToyDataset, train_toy_model

TOP_K = 30


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    net, data = train_toy_model(steps=30)
    db, query = ToyDataset(60, seed=60), ToyDataset(10, seed=61)
    ctx = AttackContext(
        net.encode(data.images), data.labels, net.encode(db.images), db.labels, CLASSES, BITS
    )
    return net, ctx, db, query


def _evaluate(net, ctx, query, **kw):
    attack = get_attack("hag", copy.deepcopy(net), ctx, steps=3)
    loader = DataLoader(query, batch_size=4)
    return evaluate_attack(attack, loader, quiet_trainer(), context=ctx, top_k=TOP_K, **kw)


def test_report_keeps_per_query_ap_in_query_order(setup, tmp_path: Path) -> None:
    net, ctx, db, query = setup
    path = tmp_path / "adversarial.pt"
    seen = []
    rep = _evaluate(net, ctx, query, adversarial_path=path, on_examples=lambda c, a: seen.append(a))
    pq = rep["per_query"]
    assert pq["idx"] == list(range(len(query)))
    assert np.mean(pq["ap"]) == pytest.approx(rep["adv_map"], abs=1e-12)
    assert all(0.0 <= v <= 1.0 for v in pq["ap"])
    assert rep["threat"] == {"norm": "linf", "eps": pytest.approx(8 / 255)}
    assert rep["attack_hp"]["eps"] == pytest.approx(8 / 255) and "model" not in rep["attack_hp"]
    json.dumps({k: v for k, v in rep.items() if k != "p_at_n"})  # JSON numbers only
    # the stored adversarial queries, re-encoded independently, give the same per-query AP
    stored = torch.load(path, weights_only=True)
    assert stored["idx"].tolist() == pq["idx"] and len(seen) == 1
    codes = net.encode(stored["images"])
    ap = average_precision_per_query(codes, ctx.db_codes, query.labels, db.labels, TOP_K)
    assert torch.nan_to_num(ap, nan=0.0).tolist() == pytest.approx(pq["ap"], abs=1e-12)
    # scored on the model they were crafted on, the transfer figure is the white-box one
    transfer = score_adversarial(net, path, query.labels, ctx.db_codes, db.labels, TOP_K)
    assert transfer["adv_map"] == pytest.approx(rep["adv_map"], abs=1e-12)
    assert transfer["per_query"] == {"idx": pq["idx"], "ap": pytest.approx(pq["ap"])}


def test_resolved_hp_merges_defaults_quick_and_given() -> None:
    hp = resolved_hp(HAG, {"steps": 7}, quick=True)
    assert hp["steps"] == 7 and hp["eps"] == pytest.approx(8 / 255)
    assert resolved_hp(HAG, {}, quick=True)["steps"] == HAG.quick["steps"]
    assert not {"model", "context", "targeted"} & set(hp)
    # a constructor passing **kwargs on reports its base class's defaults too
    cgat = resolved_hp(ATTACKS.get("cgat_pgd"), {"steps": 4})
    assert cgat["steps"] == 4 and cgat["step"] == pytest.approx(1 / 255) and "eps" in cgat
