"""The ``sweep`` step: transfer figures and the robustness curve of one defended model.

* **Transfer.** For every bounded untargeted attack, the adversarial queries crafted on
  ``none`` (kept by its attack cell in ``adversarial.pt``) are scored against this model:
  mAP@k against the true labels, with the per-query AP. No attack runs again. The
  undefended model itself gets no transfer figure (it is its own white-box figure).
* **Robustness curve.** The strongest of those attacks on ``none`` (the smallest
  ``adv_map``, ties by name: chosen by the data) is run against this model at each ε of
  :data:`~robust_hashing.benchmark.sweep_plan.CURVE_EPS`; the figure at the grid's own ε
  is read from this model's attack cell instead of re-measured.

The result (``{"transfer": {attack: …}, "curve": {…}}``) is attached to the model's attack
records by :func:`robust_hashing.benchmark.summary.cell_result`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import Logger

from robust_hashing.benchmark.cell_types import DefenseInfo, SweepConfig, SweepInfo
from robust_hashing.benchmark.spec import CellSpec
from robust_hashing.benchmark.steps import ADVERSARIAL, attack_setup


def _done(cache_root: Path, key: str) -> dict[str, Any]:
    """The ``done.json`` payload of the attack cell ``key``."""
    path = cache_root / "attack" / key / "done.json"
    payload: dict[str, Any] = json.loads(path.read_text())
    return payload


def strongest(results: dict[str, dict[str, Any]]) -> str:
    """The attack with the smallest ``adv_map`` (ties by name)."""
    return min(results, key=lambda name: (results[name]["adv_map"], name))


def run_sweep(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """Transfer figures and the ε sweep of the cell's defended model (module docstring)."""
    from robust_hashing.attacks import get_attack
    from robust_hashing.attacks.evaluate import evaluate_attack, score_adversarial

    cfg, task, root = (
        spec.cell.part(SweepConfig),
        spec.cell.part(SweepInfo),
        spec.runtime.cache_root,
    )
    seed = spec.runtime.seed
    L.seed_everything(seed, workers=True)
    model, dm, context, trainer = attack_setup(spec, loggers)
    source = {name: _done(root, key) for name, key in task.source_attacks.items()}
    transfer: dict[str, Any] = {}
    if spec.cell.part(DefenseInfo).id != cfg.source:
        labels = dm.labels("query")
        for name, key in task.source_attacks.items():
            path = root / "attack" / key / ADVERSARIAL
            figure = score_adversarial(
                model, path, labels, context.db_codes, context.db_labels, cfg.top_k
            )
            transfer[name] = {"source": cfg.source, **figure}
    chosen = strongest({name: done["result"] for name, done in source.items()})
    own = task.own_attacks.get(chosen)
    own_result = _done(root, own)["result"] if own is not None else None
    maps, ses = [], []
    for eps in cfg.eps:
        if own_result is not None and math.isclose(own_result["threat"]["eps"], eps, rel_tol=1e-6):
            maps.append(own_result["adv_map"])
            ses.append(own_result.get("adv_map_se"))
            continue
        hp = {**task.attack_hp[chosen], "eps": eps}
        attack = get_attack(chosen, model, context, targeted=False, **hp)
        report = evaluate_attack(
            attack, dm.query_dataloader(cfg.max_queries), trainer, context=context,
            top_k=cfg.top_k, seed=seed,
        )  # fmt: skip
        maps.append(report["adv_map"])
        se = report.get("adv_map_se")
        ses.append(None if se is None or math.isnan(se) else se)
    curve = {"attack": chosen, "eps": list(cfg.eps), "adv_map": maps, "adv_map_se": ses}
    return {"transfer": transfer, "curve": curve}
