"""Per-query worst case, transfer, curve and flags of a leaderboard row (protocol v2)."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from robust_hashing.attacks import AttackContext, get_attack
from robust_hashing.attacks.evaluate import evaluate_attack
from robust_hashing.leaderboard import SchemaError, parse_result, results_frame
from robust_hashing.leaderboard.figures import flags
from tests.attacks.conftest import BITS, CLASSES, ToyDataset, train_toy_model
from tests.devices import quiet_trainer

from .conftest import make_record

TOP_K = 30
PGD = {"steps": 10, "eps": 16 / 255, "step": 4 / 255}
ATTACKS = {"hag": {"steps": 10, "eps": 16 / 255}, "mainstay": PGD, "cgat_pgd": PGD}


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, dict]]:
    """defense -> attack -> evaluate_attack report, on two tiny trained models."""
    torch.set_num_threads(1)
    db, query = ToyDataset(60, seed=60), ToyDataset(12, seed=61)
    out: dict[str, dict[str, dict]] = {}
    for defense, (steps, seed) in {"none": (30, 0), "other": (60, 3)}.items():
        net, data = train_toy_model(steps=steps, seed=seed)
        ctx = AttackContext(
            net.encode(data.images), data.labels, net.encode(db.images), db.labels, CLASSES, BITS
        )
        out[defense] = {}
        for name, hp in ATTACKS.items():
            attack = get_attack(name, copy.deepcopy(net), ctx, **hp)
            out[defense][name] = evaluate_attack(
                attack, DataLoader(query, batch_size=6), quiet_trainer(), context=ctx, top_k=TOP_K
            )
    return out


def _record(defense: str, attack: str, rep: dict, **kw):
    return parse_result(
        make_record(
            defense, attack, figure=rep["adv_map"], clean_map=rep["clean_map"],
            figure_se=rep["adv_map_se"], per_query=rep["per_query"],
            n_queries=rep["n_queries"], top_k=TOP_K, threat=rep["threat"], **kw,
        )
    )  # fmt: skip


def test_worst_case_on_a_tiny_model_with_three_attacks(measured) -> None:
    for subset in itertools.chain.from_iterable(
        itertools.combinations(ATTACKS, n) for n in (1, 2, 3)
    ):
        items = [_record(d, a, measured[d][a]) for d in measured for a in subset]
        frame = results_frame(items).set_index("defense")
        for defense in measured:
            aps = np.array([measured[defense][a]["per_query"]["ap"] for a in subset])
            hand = aps.min(axis=0)  # per query, the worst of everything thrown at it
            row = frame.loc[defense]
            assert row["worst_case_map"] == pytest.approx(hand.mean(), abs=1e-12)
            se = hand.std(ddof=1) / math.sqrt(len(hand))
            assert row["worst_case_map_se"] == pytest.approx(se, abs=1e-12)
            assert row["min_attack_map"] == pytest.approx(aps.mean(axis=1).min(), abs=1e-12)
            assert row["worst_case_map"] <= row["min_attack_map"] + 1e-12
            one_attack_worst_everywhere = any((aps[i] <= aps).all() for i in range(len(subset)))
            equal = math.isclose(row["worst_case_map"], row["min_attack_map"], abs_tol=1e-12)
            assert equal == one_attack_worst_everywhere, (defense, subset)
    # with all three, the per-query worst case is strictly lower on at least one model
    full = results_frame([_record(d, a, measured[d][a]) for d in measured for a in ATTACKS])
    assert (full["worst_case_map"] < full["min_attack_map"] - 1e-9).any()


def _cell(attack: str, ap: list[float], mode: str = "untargeted", **kw):
    figure = float(np.mean(ap))
    per_query = {"idx": [5, 7, 9], "ap": ap}
    return parse_result(make_record("cgat", attack, mode, figure=figure, per_query=per_query,
                                    n_queries=3, **kw))  # fmt: skip


def test_targeted_worst_case_is_the_max_and_unbounded_attacks_stay_out() -> None:
    items = [
        _cell("hag", [0.5, 0.2, 0.9]),
        _cell("mainstay", [0.3, 0.4, 0.8]),
        _cell("prosgan", [0.0, 0.0, 0.0], bounded=False),  # unbounded: a column only
        _cell("dhta", [0.1, 0.6, 0.2], "targeted"),
        _cell("p2p", [0.3, 0.5, 0.1], "targeted"),
        _cell("prosgan_t", [1.0, 1.0, 1.0], "targeted", bounded=False),
    ]
    row = results_frame(items).iloc[0]
    assert row["worst_case_map"] == pytest.approx(np.mean([0.3, 0.2, 0.8]))
    assert row["min_attack_map"] == pytest.approx(np.mean([0.3, 0.4, 0.8]))
    assert row["worst_attack"] == "mainstay" and row["prosgan"] == 0.0
    assert row["worst_case_tmap"] == pytest.approx(np.mean([0.3, 0.6, 0.2]))
    se = np.std([0.3, 0.6, 0.2], ddof=1) / math.sqrt(3)
    assert row["worst_case_tmap_se"] == pytest.approx(se)


def test_cells_on_other_queries_cannot_share_a_worst_case() -> None:
    other = parse_result(make_record("cgat", "mainstay", figure=0.5, n_queries=3,
                                     per_query={"idx": [5, 7, 8], "ap": [0.5, 0.5, 0.5]}))  # fmt: skip
    with pytest.raises(SchemaError, match="other queries"):
        results_frame([_cell("hag", [0.5, 0.2, 0.9]), other])


def test_rank_by_worst_case_not_by_the_per_attack_minimum() -> None:
    # saat's attacks each leave 0.5, but on different queries: its worst case is 0.25.
    saat = [_cell("hag", [0.0, 1.0, 0.5]), _cell("mainstay", [1.0, 0.0, 0.5])]
    saat = [parse_result({**c.to_dict(), "defense": "saat"}) for c in saat]
    cgat = [_cell("hag", [0.4, 0.4, 0.4]), _cell("mainstay", [0.4, 0.4, 0.4])]
    frame = results_frame(saat + cgat)
    assert list(frame["defense"]) == ["cgat", "saat"]
    assert list(frame["min_attack_map"]) == [pytest.approx(0.4), pytest.approx(0.5)]
    assert list(frame["worst_case_map"]) == [pytest.approx(0.4), pytest.approx(1 / 6)]


def test_transfer_and_curve_columns_and_flags() -> None:
    curve = {"attack": "hag", "eps": [2 / 255, 8 / 255], "adv_map": [0.5, 0.6],
             "adv_map_se": [0.01, 0.01]}  # fmt: skip
    transfer = {"source": "none", "adv_map": 0.1, "adv_map_se": 0.02}
    items = [_cell("hag", [0.5, 0.5, 0.5], transfer=transfer, curve=curve, figure_se=0.05)]
    row = results_frame(items).iloc[0]
    assert row["transfer_hag"] == 0.1 and row["curve_attack"] == "hag"
    assert row["curve_eps2"] == 0.5 and row["curve_eps8"] == 0.6
    assert row["flags"] == "masking:hag nonmonotone"
    # within one standard error, not decreasing less, and a collapsed model
    assert flags(0.3, "quick", (0.5, 0.05), {"transfer_hag": (0.46, 0.01)}, None) == "low_clean"
    assert flags(0.9, "paper", (0.5, math.nan), {"transfer_hag": (0.49, math.nan)}, None) == (
        "masking:hag"
    )
