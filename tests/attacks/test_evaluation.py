"""AttackEvaluation through a real Lightning Trainer on a tiny query set."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.utils.data import DataLoader

from robust_hashing.attacks import AttackContext, draw_target_labels, get_attack
from robust_hashing.attacks.evaluation import AttackEvaluation
from robust_hashing.metrics import (
    average_precision_per_query,
    map_standard_error,
    mean_average_precision,
    perceptibility,
    precision_at_n,
)
from tests.devices import DEVICES, quiet_trainer

from .conftest import BITS, CLASSES, ToyDataset, train_toy_model


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    net, data = train_toy_model(steps=30)
    db, query = ToyDataset(60, seed=60), ToyDataset(10, seed=61)
    db_codes = net.encode(db.images)
    ctx = AttackContext(net.encode(data.images), data.labels, db_codes, db.labels, CLASSES, BITS)
    targets = draw_target_labels(query.labels, db.labels)
    return net, ctx, db, query, db_codes, targets


def _run(task: AttackEvaluation, query: ToyDataset, accelerator: str = "cpu") -> dict:
    quiet_trainer(accelerator).test(
        task, dataloaders=DataLoader(query, batch_size=4), verbose=False
    )
    return task.report


@pytest.mark.parametrize("device", DEVICES)
def test_untargeted_report(setup, device) -> None:
    net, ctx, db, query, db_codes, _ = setup
    task = AttackEvaluation(
        "mainstay",
        copy.deepcopy(net),
        db_codes,
        db.labels,
        context=ctx,
        attack_hp={"steps": 5, "eps": 16 / 255, "step": 4 / 255},
        top_k=30,
        p_at_n=(5, 10, 20),
    )
    rep = _run(task, query, accelerator=device)
    for key in (
        "clean_map",
        "adv_map",
        "clean_map_hits",
        "adv_map_hits",
        "asr",
        "clean_asr",
        "bit_flip",
        "linf",
        "l2",
        "mse",
        "rmse",
        "theory",
        "theory_hits",
        "n_queries",
        "seconds",
        "attack",
        "mode",
        "bounded",
    ):
        assert key in rep, key
    assert "adv_tmap" not in rep
    assert rep["n_queries"] == len(query)
    assert rep["unlabelled_queries"] == int((query.labels.sum(1) == 0).sum())
    assert rep["mode"] == "untargeted" and rep["bounded"] is True
    clean = mean_average_precision(net.encode(query.images), db_codes, query.labels, db.labels, 30)
    # on CUDA a near-zero output may round to the other sign: allow one query's worth
    assert rep["clean_map"] == pytest.approx(clean, abs=1e-9 if device == "cpu" else 0.1)
    assert 0 <= rep["adv_map"] < rep["clean_map"]
    assert rep["adv_map"] <= rep["adv_map_hits"] <= 1
    # full-ranking mAP (secondary) and P@N
    full = mean_average_precision(net.encode(query.images), db_codes, query.labels, db.labels)
    assert rep["clean_map_full"] == pytest.approx(full, abs=1e-9 if device == "cpu" else 0.1)
    assert rep["adv_map_full"] < rep["clean_map_full"]
    # standard error over the queries of the mAP@k
    ap = average_precision_per_query(
        net.encode(query.images), db_codes, query.labels, db.labels, 30
    )
    se = map_standard_error(ap)
    assert rep["clean_map_se"] == pytest.approx(se, abs=1e-9 if device == "cpu" else 0.1)
    assert 0 < rep["adv_map_se"] < 0.5
    pan = rep["p_at_n"]
    assert pan["n"] == [5, 10, 20] and len(pan["clean"]) == len(pan["adv"]) == 3
    assert pan["relevance"] == "labels" and "adv_true" not in pan  # rel is already true labels
    assert sum(pan["adv"]) < sum(pan["clean"])
    assert rep["theory"] < rep["clean_map"]
    assert 0 < rep["bit_flip"] <= 1
    assert rep["linf"] <= 16 / 255 + 1e-6 and rep["rmse"] == pytest.approx(math.sqrt(rep["mse"]))
    assert rep["seconds"] > 0
    # the first queries' adversarial images are kept for logging (no second attack run)
    clean_ex, adv_ex = task.examples
    assert clean_ex.shape == adv_ex.shape == (8, *query.images.shape[1:])
    assert torch.equal(clean_ex, query.images[:8])
    assert 0 < (adv_ex - clean_ex).abs().max() <= 16 / 255 + 1e-6


def test_targeted_report_with_attack_instance(setup) -> None:
    net, ctx, db, query, db_codes, targets = setup
    attack = get_attack("mainstay", net, ctx, targeted=True, steps=5, eps=16 / 255, step=4 / 255)
    task = AttackEvaluation(
        attack, db_codes=db_codes, db_labels=db.labels, targets=targets, top_k=None, p_at_n=(5, 10)
    )
    rep = _run(task, query)
    for key in ("clean_tmap", "adv_tmap", "clean_tmap_hits", "adv_tmap_hits"):
        assert 0 <= rep[key] <= 1
    assert rep["adv_tmap"] > rep["clean_tmap"]
    assert rep["adv_tmap_full"] == rep["adv_tmap"]  # top_k=None is the full ranking
    assert sum(rep["p_at_n"]["adv"]) > sum(rep["p_at_n"]["clean"])  # P@N under rel_t
    assert rep["mode"] == "targeted"
    assert 0 <= rep["asr"] <= 1 and 0 <= rep["clean_asr"] <= 1
    # perceptibility agrees with the metrics package on the same perturbations
    adv = get_attack("mainstay", net, ctx, targeted=True, steps=5, eps=16 / 255, step=4 / 255)(
        query.images, query.labels, targets
    )
    ref = perceptibility(query.images, adv)
    assert rep["linf"] == pytest.approx(ref["linf"], abs=1e-6)
    assert rep["rmse"] == pytest.approx(ref["rmse"], rel=1e-5)


def test_targeted_report_gives_p_at_n_against_true_labels_too(setup) -> None:
    # protocol §5: P@N over the true labels, "also reported with rel_t for targeted attacks"
    net, ctx, db, query, db_codes, targets = setup
    hp = {"targeted": True, "steps": 5, "eps": 16 / 255, "step": 4 / 255}
    task = AttackEvaluation(
        "mainstay", net, db_codes, db.labels, context=ctx, targets=targets, attack_hp=hp,
        p_at_n=(5, 10, 20),
    )  # fmt: skip
    pan = _run(task, query)["p_at_n"]
    assert pan["relevance"] == "targets" and pan["n"] == [5, 10, 20]
    # independently: encode the clean and attacked queries, score them with the true labels
    adv = get_attack("mainstay", net, ctx, **hp)(query.images, query.labels, targets)
    clean_codes, adv_codes = net.encode(query.images), net.encode(adv)
    for codes, name in ((clean_codes, "clean"), (adv_codes, "adv")):
        true = precision_at_n(codes, db_codes, query.labels, db.labels, (5, 10, 20)).tolist()
        assert pan[f"{name}_true"] == pytest.approx(true, abs=1e-12)
        rel_t = precision_at_n(codes, db_codes, targets, db.labels, (5, 10, 20)).tolist()
        assert pan[name] == pytest.approx(rel_t, abs=1e-12)  # the rel_t curve keeps its key
    assert pan["adv_true"] != pan["adv"]
    assert sum(pan["adv_true"]) < sum(pan["clean_true"])  # pulled away from the true labels


def test_targets_drawn_from_query_loader_and_stored(setup, tmp_path) -> None:
    net, ctx, _db, query, _, targets = setup
    path = tmp_path / "targets.pt"
    task = AttackEvaluation(
        "dhta",
        net,
        context=ctx,
        targets_path=path,
        seed=0,
        attack_hp={"targeted": True, "steps": 1},
    )
    rep = _run(task, query)
    assert torch.equal(task.targets, targets)  # the §5.1 draw with seed 0, by query index
    assert path.exists() and rep["n_queries"] == len(query) and "adv_tmap" in rep
    with pytest.raises(ValueError, match="pass the model"):
        AttackEvaluation("dhta", None, context=ctx)


def test_unbounded_attack_reported(setup) -> None:
    net, ctx, db, query, db_codes, targets = setup
    loader = DataLoader(ToyDataset(16, seed=5), batch_size=8)
    ctx = AttackContext(
        ctx.train_codes,
        ctx.train_labels,
        ctx.db_codes,
        ctx.db_labels,
        CLASSES,
        BITS,
        train_loader=loader,
    )
    hp = {"proto_epochs": 1, "proto_steps": 2, "gan_epochs": 1, "decay_epochs": 0, "gan_batches": 1}
    hp |= {"gen_ch": 8, "gen_enc_blocks": 1, "gen_dec_blocks": 1, "disc_ch": 8, "disc_layers": 3}
    task = AttackEvaluation(
        "prosgan", net, db_codes, db.labels, context=ctx, targets=targets, attack_hp=hp
    )
    rep = _run(task, query)
    assert rep["bounded"] is False and rep["rmse"] > 0 and rep["prepare_seconds"] > 0
