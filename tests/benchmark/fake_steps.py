"""Fake cell steps for runner tests: instant, deterministic, with injectable failures.

Loaded by the worker through ``RunOptions.steps`` (a file path), so it also works in the
subprocess executor. Figures depend only on the defense and attack names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STRENGTH = {"none": 0.3, "good": 0.6, "better": 0.7}
ATTACK_POWER = {"weak": 0.0, "strong": 0.2, "tgt": 0.0}
# Per-query offsets (mean 0): "weak" and "strong" are worst on different queries, so the
# per-query worst case lies strictly below the per-attack minimum.
PATTERN = {"weak": [-0.2, 0.2, -0.2, 0.2], "strong": [0.1, -0.1, 0.1, -0.1]}


def _count(spec: dict[str, Any]) -> None:
    counter = Path(spec["runtime"]["cache_root"]) / "calls.jsonl"
    with open(counter, "a") as handle:
        handle.write(json.dumps({"id": spec["id"]}) + "\n")


def run_clean(spec: dict[str, Any], loggers: list) -> dict[str, Any]:
    _count(spec)
    (Path(spec["dir"]) / "model.ckpt").write_text("clean")
    return {"checkpoint": str(Path(spec["dir"]) / "model.ckpt")}


def run_defense(spec: dict[str, Any], loggers: list) -> dict[str, Any]:
    _count(spec)
    name = spec["config"]["defense"]
    if name == "broken":
        raise RuntimeError("defense training exploded")
    assert (Path(spec["upstream"]["clean"]) / "model.ckpt").is_file()
    (Path(spec["dir"]) / "model.ckpt").write_text(name)
    return {"checkpoint": str(Path(spec["dir"]) / "model.ckpt"), "clean_map": 0.8}


def run_attack(spec: dict[str, Any], loggers: list) -> dict[str, Any]:
    _count(spec)
    cfg, meta = spec["config"], spec["meta"]
    if cfg["attack"] == "boom":
        raise RuntimeError("attack bug")
    if cfg["attack"] == "oom":
        import os

        os._exit(137)  # dies like an OOM-killed process
    robust = STRENGTH.get(meta["defense"], 0.5) - ATTACK_POWER.get(cfg["attack"], 0.1)
    robust += float(cfg["hp"].get("shift", 0.0))  # a defense/attack variant moves the figure
    robust += 0.05 * float(spec["meta"].get("defense_hp", {}).get("lam", 0.0))
    report = {
        "clean_map": 0.8, "adv_map": round(robust, 4), "asr": 0.5, "linf": 8 / 255,
        "l2": 1.5, "rmse": 0.02, "theory": 0.05, "bit_flip": 0.3, "seconds": 0.01,
        "top_k": cfg.get("top_k"), "n_queries": float(cfg.get("max_queries") or 20),
    }  # fmt: skip
    if cfg["mode"] == "targeted":
        report.update(clean_tmap=0.1, adv_tmap=round(0.9 - robust, 4))
    figure = report["adv_tmap"] if cfg["mode"] == "targeted" else report["adv_map"]
    n = int(report["n_queries"])  # the pattern repeats every 4 queries (n a multiple of 4)
    offsets = (PATTERN.get(cfg["attack"], [0.0] * 4) * n)[:n]
    report["per_query"] = {"idx": list(range(n)), "ap": [round(figure + o, 4) for o in offsets]}
    report["threat"] = {"norm": "linf", "eps": 8 / 255}
    report["attack_hp"] = spec["meta"].get("attack_hp", {})
    report["steps_hp"] = cfg["hp"].get("steps", -1)
    return report


def run_sweep(spec: dict[str, Any], loggers: list) -> dict[str, Any]:
    """Transfer = white-box figure + 0.05; curve of the strongest attack on ``none``."""
    _count(spec)
    meta, eps = spec["meta"], spec["config"]["eps"]
    base = STRENGTH.get(meta["defense"], 0.5) + 0.05 * float(
        meta.get("defense_hp", {}).get("lam", 0)
    )
    transfer = {}
    if meta["defense"] != "none":
        for name in meta["source_attacks"]:
            value = round(base - ATTACK_POWER.get(name, 0.1) + 0.05, 4)
            transfer[name] = {"source": "none", "adv_map": value, "adv_map_se": 0.01}
    chosen = min(meta["source_attacks"], key=lambda n: (-ATTACK_POWER.get(n, 0.1), n))
    maps = [round(max(base - ATTACK_POWER.get(chosen, 0.1) * e * 255 / 8, 0.0), 4) for e in eps]
    curve = {"attack": chosen, "eps": eps, "adv_map": maps, "adv_map_se": [0.01] * len(eps)}
    return {"transfer": transfer, "curve": curve}


USES_LOGGERS = False  # keeps the worker from importing Lightning (fast subprocess tests)
STEPS = {"clean": run_clean, "defense": run_defense, "attack": run_attack, "sweep": run_sweep}
