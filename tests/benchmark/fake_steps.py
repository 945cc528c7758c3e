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
    report = {
        "clean_map": 0.8, "adv_map": round(robust, 4), "asr": 0.5, "linf": 8 / 255,
        "l2": 1.5, "rmse": 0.02, "theory": 0.05, "bit_flip": 0.3, "seconds": 0.01,
        "top_k": cfg.get("top_k"), "n_queries": float(cfg.get("max_queries") or 20),
    }  # fmt: skip
    if cfg["mode"] == "targeted":
        report.update(clean_tmap=0.1, adv_tmap=round(0.9 - robust, 4))
    report["steps_hp"] = cfg["hp"].get("steps", -1)
    return report


USES_LOGGERS = False  # keeps the worker from importing Lightning (fast subprocess tests)
STEPS = {"clean": run_clean, "defense": run_defense, "attack": run_attack}
