"""One evaluation path: run an attack over the query loader and score it (protocol §5–7).

:func:`evaluate_attack` is what ``robust-hashing attack`` and the benchmark runner's attack
step both call, so a change of the protocol lands here once. :func:`resolved_hp` gives an
attack's (or defense's) full effective hyper-parameters for the record, and
:func:`score_adversarial` scores stored adversarial queries against another model (the
transfer track).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from robust_hashing.attacks.base import AttackContext, HashAttack
from robust_hashing.effective_hp import jsonable, resolved_hp

__all__ = ["evaluate_attack", "jsonable", "resolved_hp", "score_adversarial"]


def evaluate_attack(
    attack: HashAttack,
    loader: Any,
    trainer: L.Trainer,
    *,
    context: AttackContext,
    targets: Tensor | None = None,
    top_k: int | None = 5000,
    asr_n: int = 100,
    seed: int = 0,
    attack_hp: dict[str, Any] | None = None,
    adversarial_path: str | Path | None = None,
    on_examples: Callable[[Tensor, Tensor], None] | None = None,
) -> dict[str, Any]:
    """Attack every query of ``loader`` with ``trainer.test`` and return the report.

    Args:
        attack: the built attack (its model is the one evaluated).
        loader: the query loader, yielding ``(x, y, idx)``.
        trainer: the Lightning Trainer that runs the evaluation.
        context: the attacked model's context (database codes and labels).
        targets: target labels indexed by query dataset index (targeted attacks).
        top_k: mAP depth k (None = full ranking).
        asr_n: N of ASR@N.
        seed: seed of a target draw when ``targets`` is None.
        attack_hp: the attack's effective hyper-parameters, stored as ``attack_hp``
            (default: those of :func:`resolved_hp` for the attack's class).
        adversarial_path: if given, the adversarial queries are saved there
            (``{"idx": …, "images": …}``, query order) for :func:`score_adversarial`.
        on_examples: called with the first (clean, adversarial) image pairs, for logging.

    Returns:
        The figures of :meth:`AttackEvaluation.compute_report` plus ``seconds``,
        ``threat`` (``{"norm": "linf", "eps": …}``), ``attack_hp`` and ``per_query``.
    """
    from robust_hashing.attacks import evaluation  # looked up at call time (tests patch it)

    task = evaluation.AttackEvaluation(
        attack,
        context=context,
        targets=targets,
        top_k=top_k,
        asr_n=asr_n,
        seed=seed,
        keep_adversarial=adversarial_path is not None,
    )
    trainer.test(task, dataloaders=loader, verbose=False)
    report = dict(task.report)
    hp = attack_hp if attack_hp is not None else resolved_hp(type(attack), {})
    report["attack_hp"] = jsonable(hp)
    if adversarial_path is not None and task.adversarial is not None and trainer.is_global_zero:
        idx, images = task.adversarial
        path = Path(adversarial_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"idx": idx.cpu(), "images": images.cpu()}, path)
    if on_examples is not None and task.examples is not None:
        on_examples(*task.examples)
    return report


def score_adversarial(
    model: Any,
    adversarial_path: str | Path,
    query_labels: Tensor,
    db_codes: Tensor,
    db_labels: Tensor,
    top_k: int | None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """mAP@k of stored adversarial queries (:func:`evaluate_attack`) against ``model``.

    The transfer track: queries crafted on one model, scored against the true labels
    (``query_labels``, indexed by query dataset index) with ``model``'s codes, without
    attacking again.

    Returns:
        ``adv_map`` (convention (a)), ``adv_map_se`` and ``per_query`` (``idx``, ``ap``).
    """
    from robust_hashing.metrics import (
        average_precision_per_query,
        map_from_ap,
        map_standard_error,
    )

    stored = torch.load(Path(adversarial_path), map_location="cpu", weights_only=True)
    idx, images = stored["idx"].long(), stored["images"].float()
    model = model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        codes = torch.cat(
            [
                model.encode(images[i : i + batch_size].to(device)).cpu()
                for i in range(0, len(images), batch_size)
            ]
        )
    labels = torch.as_tensor(query_labels).float()[idx]
    ap = average_precision_per_query(
        codes.float(), db_codes.float().cpu(), labels, db_labels.float().cpu(), top_k
    )
    se = map_standard_error(ap)
    return {
        "adv_map": map_from_ap(ap),
        "adv_map_se": None if math.isnan(se) else se,
        "per_query": {"idx": idx.tolist(), "ap": torch.nan_to_num(ap, nan=0.0).tolist()},
    }
