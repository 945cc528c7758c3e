"""Fake cell steps for runner tests: instant, deterministic, with injectable failures.

Loaded by the worker through ``RunOptions.steps`` (a file path), so it also works in the
subprocess executor. Figures depend only on the defense and attack names.
"""

from __future__ import annotations

import json
from typing import Any

from robust_hashing.benchmark.cell_types import (
    AttackConfig,
    AttackInfo,
    DefenseInfo,
    RankingConfig,
    RankingInfo,
    SweepConfig,
    SweepInfo,
)
from robust_hashing.benchmark.spec import CellSpec

STRENGTH = {"none": 0.3, "good": 0.6, "better": 0.7}
ATTACK_POWER = {"weak": 0.0, "strong": 0.2, "tgt": 0.0}
# Per-query offsets (mean 0): "weak" and "strong" are worst on different queries, so the
# per-query worst case lies strictly below the per-attack minimum.
PATTERN = {"weak": [-0.2, 0.2, -0.2, 0.2], "strong": [0.1, -0.1, 0.1, -0.1]}


def _count(spec: CellSpec) -> None:
    counter = spec.runtime.cache_root / "calls.jsonl"
    with open(counter, "a") as handle:
        handle.write(json.dumps({"id": spec.cell.id}) + "\n")


def run_clean(spec: CellSpec, loggers: list) -> dict[str, Any]:
    _count(spec)
    (spec.cell.dir / "model.ckpt").write_text("clean")
    return {"checkpoint": str(spec.cell.dir / "model.ckpt")}


def run_defense(spec: CellSpec, loggers: list) -> dict[str, Any]:
    _count(spec)
    name = spec.cell.part(DefenseInfo).name
    if name == "broken":
        raise RuntimeError("defense training exploded")
    assert (spec.upstream["clean"] / "model.ckpt").is_file()
    (spec.cell.dir / "model.ckpt").write_text(name)
    return {"checkpoint": str(spec.cell.dir / "model.ckpt"), "clean_map": 0.8}


def run_attack(spec: CellSpec, loggers: list) -> dict[str, Any]:
    _count(spec)
    cfg, attack = spec.cell.part(AttackConfig), spec.cell.part(AttackInfo)
    defense = spec.cell.part(DefenseInfo)
    if attack.name == "boom":
        raise RuntimeError("attack bug")
    if attack.name == "oom":
        import os

        os._exit(137)  # dies like an OOM-killed process
    robust = STRENGTH.get(defense.id, 0.5) - ATTACK_POWER.get(attack.name, 0.1)
    robust += float(cfg.hp.get("shift", 0.0))  # a defense/attack variant moves the figure
    robust += 0.05 * float(defense.hp.get("lam", 0.0))
    report = {
        "clean_map": 0.8, "adv_map": round(robust, 4), "asr": 0.5, "linf": 8 / 255,
        "l2": 1.5, "rmse": 0.02, "theory": 0.05, "bit_flip": 0.3, "seconds": 0.01,
        "top_k": cfg.top_k, "n_queries": float(cfg.max_queries or 20),
    }  # fmt: skip
    if attack.targeted:
        report.update(clean_tmap=0.1, adv_tmap=round(0.9 - robust, 4))
    figure = report["adv_tmap"] if attack.targeted else report["adv_map"]
    n = int(report["n_queries"])  # the pattern repeats every 4 queries (n a multiple of 4)
    offsets = (PATTERN.get(attack.name, [0.0] * 4) * n)[:n]
    report["per_query"] = {"idx": list(range(n)), "ap": [round(figure + o, 4) for o in offsets]}
    report["threat"] = {"norm": "linf", "eps": 8 / 255}
    report["attack_hp"] = attack.hp
    report["steps_hp"] = cfg.hp.get("steps", -1)
    return report


def run_sweep(spec: CellSpec, loggers: list) -> dict[str, Any]:
    """Transfer = white-box figure + 0.05; curve of the strongest attack on ``none``."""
    _count(spec)
    defense, task = spec.cell.part(DefenseInfo), spec.cell.part(SweepInfo)
    eps = list(spec.cell.part(SweepConfig).eps)
    base = STRENGTH.get(defense.id, 0.5) + 0.05 * float(defense.hp.get("lam", 0))
    transfer = {}
    if defense.id != "none":
        for name in task.source_attacks:
            value = round(base - ATTACK_POWER.get(name, 0.1) + 0.05, 4)
            transfer[name] = {"source": "none", "adv_map": value, "adv_map_se": 0.01}
    chosen = min(task.source_attacks, key=lambda n: (-ATTACK_POWER.get(n, 0.1), n))
    maps = [round(max(base - ATTACK_POWER.get(chosen, 0.1) * e * 255 / 8, 0.0), 4) for e in eps]
    curve = {"attack": chosen, "eps": eps, "adv_map": maps, "adv_map_se": [0.01] * len(eps)}
    return {"transfer": transfer, "curve": curve}


def ranking_figures(strength: float) -> dict[str, float]:
    """The ten fake ranking figures of a model of ``strength`` (1 = the clean queries)."""
    s = strength
    return {
        "ca_plus": 50 * s, "ca_minus": 10 * (1 - s), "qa_plus": 40 * s, "qa_minus": 20 * (1 - s),
        "tma": 1 - s, "es_d": 1 - s, "es_r": 100 * s, "ltm": 90 * s, "gtm": 80 * s, "gtt": 70 * s,
    }  # fmt: skip


def fake_ers(figures: dict[str, float]) -> float:
    """RobRank's ERS written out by hand (protocol §8)."""
    f = figures
    return (
        2 * f["ca_plus"] + 100 - f["ca_minus"] + 2 * f["qa_plus"] + 100 - f["qa_minus"]
        + 100 * (1 - f["tma"]) + 50 * (2 - f["es_d"]) + f["es_r"] + f["ltm"] + f["gtm"]
        + f["gtt"]
    ) / 10  # fmt: skip


def run_ranking(spec: CellSpec, loggers: list) -> dict[str, Any]:
    """Ten figures that grow with the defense's strength; clean figures at strength 1."""
    _count(spec)
    cfg = spec.cell.part(RankingConfig)
    attacked = ranking_figures(STRENGTH.get(spec.cell.part(DefenseInfo).id, 0.5))
    clean = ranking_figures(1.0)
    n = int(cfg.max_queries or 20)
    per_query = {"idx": list(range(n)), "recall_at_1": [100.0] * n, "ap": [0.8] * n}
    per_query.update({k: [v] * n for k, v in attacked.items()})
    per_query.update({f"clean_{k}": [v] * n for k, v in clean.items()})
    from robust_hashing.metrics.ers import benign_normalised_ers

    return {
        **attacked, **{f"clean_{k}": v for k, v in clean.items()},
        "ers": fake_ers(attacked), "ers_clean": fake_ers(clean),
        "ers_bn": benign_normalised_ers(attacked, clean), "recall_at_1": 100.0, "map": 0.8,
        "n_queries": n, "top_k": cfg.top_k, "threat": {"norm": "linf", "eps": 8 / 255},
        "attack_hp": spec.cell.part(RankingInfo).attack_hp, "per_query": per_query,
    }  # fmt: skip


USES_LOGGERS = False  # keeps the worker from importing Lightning (fast subprocess tests)
STEPS = {
    "clean": run_clean, "defense": run_defense, "attack": run_attack, "sweep": run_sweep,
    "ranking": run_ranking,
}  # fmt: skip
