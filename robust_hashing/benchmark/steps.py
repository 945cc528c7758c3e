"""What each kind of cell does; the only module of the runner that calls the other parts.

* ``clean``: :class:`robust_hashing.tasks.HashingTask` trained with ``Trainer.fit`` → ``model.ckpt``.
* ``defense``: ``robust_hashing.defenses.get_defense(name)`` fine-tuned from the clean
  checkpoint → ``model.ckpt`` (``none`` reuses the clean checkpoint); then the clean figures
  of the defended model (mAP, PR curve) → ``clean_eval.json``.
* ``attack``: :func:`robust_hashing.attacks.evaluate.evaluate_attack` over the query
  loader → its report (figures, per-query AP, threat model, effective hyper-parameters).
* ``sweep``: the transfer track and the ε sweep of one defended model
  (:mod:`robust_hashing.benchmark.sweep`).
* ``ranking``: RobRank's nine ranking attacks and ERS on one defended model
  (:mod:`robust_hashing.benchmark.ranking_step`).

Each function gets the cell's :class:`~robust_hashing.benchmark.spec.CellSpec` and its
loggers, writes its files into the cell's folder and returns the result dict stored in
``done.json``.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import Logger

from robust_hashing.benchmark.cell_types import (
    AttackConfig,
    AttackInfo,
    CleanConfig,
    DefenseConfig,
    DefenseInfo,
)
from robust_hashing.benchmark.loggers import log_examples
from robust_hashing.benchmark.spec import CellSpec, Runtime
from robust_hashing.io import write_json_atomic

StepFn = Callable[[CellSpec, list[Logger]], dict[str, Any]]
CHECKPOINT = "model.ckpt"


def accepted_kwargs(fn: Callable[..., Any], candidates: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``candidates`` that ``fn`` (a function or class) accepts by name."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(candidates)
    return {k: v for k, v in candidates.items() if k in params}


def make_trainer(spec: CellSpec, loggers: list[Logger], **overrides: Any) -> L.Trainer:
    """A Trainer from the cell's runtime settings (accelerator, devices, strategy)."""
    runtime = spec.runtime
    kwargs: dict[str, Any] = {
        "accelerator": runtime.accelerator,
        "devices": runtime.devices,
        "logger": loggers or False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "enable_progress_bar": False,
        "num_sanity_val_steps": 0,
        "default_root_dir": str(spec.cell.dir),
        "log_every_n_steps": 10,
    }
    if runtime.strategy:
        kwargs["strategy"] = runtime.strategy
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return L.Trainer(**kwargs)


def datamodule(spec: CellSpec, stage: str = "fit") -> Any:
    """The cell's data module, prepared and set up (dataset name/kwargs from the victim)."""
    from robust_hashing.datamodules import get_datamodule

    victim = spec.cell.victim
    dm = get_datamodule(victim.dataset, **victim.dataset_kwargs)
    dm.prepare_data()
    dm.setup(stage)
    return dm


def _train_settings(trainer_cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "max_epochs": trainer_cfg.get("max_epochs"),
        "max_steps": trainer_cfg.get("max_steps"),
        "limit_train_batches": trainer_cfg.get("limit_train_batches"),
        "precision": trainer_cfg.get("precision"),
        "limit_val_batches": 0,  # the benchmark evaluates in the attack cells
    }


def run_clean(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """Train the clean victim model; writes ``model.ckpt``."""
    from robust_hashing.tasks import HashingTask

    cfg, victim = spec.cell.part(CleanConfig), spec.cell.victim
    L.seed_everything(spec.runtime.seed, workers=True)
    dm = datamodule(spec)
    task = HashingTask(
        backbone=victim.backbone,
        bits=victim.bits,
        loss=victim.method,
        num_train=dm.num_train,
        num_classes=dm.num_classes,
        **cfg.hp,
    )
    trainer = make_trainer(spec, loggers, **_train_settings(cfg.trainer))
    trainer.fit(task, datamodule=dm)
    ckpt = spec.cell.dir / CHECKPOINT
    trainer.save_checkpoint(ckpt)
    return {"checkpoint": str(ckpt), "epochs": trainer.current_epoch}


def _clean_eval(spec: CellSpec, checkpoint: Path) -> dict[str, Any]:
    """Clean evaluation of the model in ``checkpoint`` (single device, protocol §7.3).

    mAP@k in both conventions, full-ranking mAP, P@N (N = 100, 110, …, 1000) and the PR
    curve, on the whole query split.

    The training sign bank and database codes are encoded here once and cached in the
    cell's ``context/`` folder, where every attack cell of this model finds them.
    """
    from robust_hashing.attacks.context import build_context
    from robust_hashing.metrics import P_AT_N, mean_average_precision, pr_curve, precision_at_n
    from robust_hashing.tasks import encode, load_hash_net

    model = load_hash_net(checkpoint)
    dm = datamodule(spec, "test")
    trainer = make_trainer(spec, [], devices=1, strategy="auto")
    cell_dir = spec.cell.dir
    context = build_context(
        model, dm, trainer=trainer, cache_dir=cell_dir / "context", model_key=cell_dir.name
    )
    q_codes, q_labels = encode(model, dm.query_dataloader(), trainer)
    db_codes, db_labels = context.db_codes, context.db_labels
    top_k = spec.runtime.top_k
    recall, precision = pr_curve(q_codes, db_codes, q_labels, db_labels)
    scored = (q_codes, db_codes, q_labels, db_labels)
    return {
        "clean_map": mean_average_precision(*scored, top_k),
        "clean_map_hits": mean_average_precision(*scored, top_k, hit_only=True),
        "clean_map_full": mean_average_precision(*scored),
        "p_at_n": {"n": list(P_AT_N), "precision": precision_at_n(*scored).tolist()},
        "pr_recall": recall.tolist(),
        "pr_precision": precision.tolist(),
    }


def run_defense(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """Fine-tune a defense from the clean checkpoint (``none``: reuse it) and evaluate it."""
    from robust_hashing.defenses import get_defense

    cfg, name = spec.cell.part(DefenseConfig), spec.cell.part(DefenseInfo).name
    clean_ckpt = spec.upstream["clean"] / CHECKPOINT
    cls = get_defense(name)
    if name == "none" or getattr(cls, "trains", True) is False:
        ckpt = clean_ckpt
    else:
        L.seed_everything(spec.runtime.seed, workers=True)
        dm = datamodule(spec)
        victim = spec.cell.victim
        candidates = {
            "backbone": victim.backbone, "bits": victim.bits, "loss": victim.method,
            "num_train": dm.num_train, "num_classes": dm.num_classes,
        }  # fmt: skip
        task = cls(clean_checkpoint=str(clean_ckpt), **accepted_kwargs(cls, candidates), **cfg.hp)
        trainer = make_trainer(spec, loggers, **_train_settings(cfg.trainer))
        trainer.fit(task, datamodule=dm)
        ckpt = spec.cell.dir / CHECKPOINT
        trainer.save_checkpoint(ckpt)
    evaluation = _clean_eval(spec, ckpt)
    write_json_atomic(spec.cell.dir / "clean_eval.json", evaluation)
    return {"checkpoint": str(ckpt), "clean_map": evaluation["clean_map"]}


def _scalars(report: dict[str, Any]) -> dict[str, Any]:
    """Numbers of an attack report as plain floats (tensors converted, others dropped)."""
    out: dict[str, Any] = {}
    for key, value in report.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or value is None or isinstance(value, str):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = None if math.isnan(float(value)) else float(value)
    return out


def _recorded_path(recorded: str, runtime: Runtime) -> Path:
    """A path stored in ``done.json`` (relative to the runner's working directory).

    From another working directory, the same ``<kind>/<key>/<file>`` under ``cache_root``.
    """
    path = Path(recorded)
    if path.is_file():
        return path
    return runtime.cache_root / Path(*path.parts[-3:])


ADVERSARIAL = "adversarial.pt"


def run_attack(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """Evaluate one attack on the defended model; returns the evaluation's report.

    The figures come from :func:`robust_hashing.attacks.evaluate.evaluate_attack` (the
    path ``robust-hashing attack`` takes too). On the undefended model (``none``) the
    adversarial queries of an untargeted attack are kept in ``adversarial.pt`` for the
    transfer track (:mod:`robust_hashing.benchmark.sweep`).
    """
    from robust_hashing.attacks import get_attack
    from robust_hashing.attacks.evaluate import evaluate_attack
    from robust_hashing.attacks.targets import load_or_draw_targets

    cell, runtime = spec.cell, spec.runtime
    cfg, info = cell.part(AttackConfig), cell.part(AttackInfo)
    L.seed_everything(runtime.seed, workers=True)
    model, dm, context, trainer = attack_setup(spec, loggers)
    attack = get_attack(info.name, model, context, targeted=info.targeted, **cfg.hp)
    targets_path = runtime.cache_root / "targets" / f"{cell.victim.dataset_id}.pt"
    # Targets are drawn once for the whole query split, so a query subset reuses them.
    targets = (
        load_or_draw_targets(targets_path, dm.labels("query"), context.db_labels, runtime.seed)
        if info.targeted
        else None
    )
    keep = cell.part(DefenseInfo).name == "none" and not info.targeted
    full = evaluate_attack(
        attack, dm.query_dataloader(cfg.max_queries), trainer, context=context,
        targets=targets, top_k=cfg.top_k, seed=runtime.seed, attack_hp=info.hp,
        adversarial_path=cell.dir / ADVERSARIAL if keep else None,
        on_examples=lambda clean, adv: log_examples(loggers, clean, adv),
    )  # fmt: skip
    report = _scalars(full)
    report["bounded"] = bool(getattr(attack, "bounded", True))
    for key in ("threat", "attack_hp", "per_query"):
        report[key] = full[key]
    write_json_atomic(cell.dir / "report.json", {**report, "p_at_n": full["p_at_n"]})
    return report


def attack_setup(spec: CellSpec, loggers: list[Logger]) -> tuple[Any, Any, Any, L.Trainer]:
    """The defended model of an attack (or sweep) cell, its data module, context and Trainer."""
    from robust_hashing.attacks.context import build_context
    from robust_hashing.tasks import load_hash_net

    defense_dir = spec.upstream["defense"]
    defense_done = json.loads((defense_dir / "done.json").read_text())
    model = load_hash_net(_recorded_path(defense_done["result"]["checkpoint"], spec.runtime))
    dm = datamodule(spec, "test")
    trainer = make_trainer(spec, loggers, devices=1, strategy="auto")
    context = build_context(
        model,
        dm,
        trainer=trainer,
        cache_dir=defense_dir / "context",
        model_key=defense_dir.name,
        dataset=spec.cell.victim.dataset,
    )
    return model, dm, context, trainer


def run_sweep(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """Transfer figures and the robustness curve (:mod:`robust_hashing.benchmark.sweep`)."""
    from robust_hashing.benchmark.sweep import run_sweep as sweep

    return sweep(spec, loggers)


def run_ranking(spec: CellSpec, loggers: list[Logger]) -> dict[str, Any]:
    """The ranking protocol on the defended model (:mod:`robust_hashing.benchmark.ranking_step`)."""
    from robust_hashing.benchmark.ranking_step import run_ranking as ranking

    return ranking(spec, loggers)


STEPS: dict[str, StepFn] = {
    "clean": run_clean, "defense": run_defense, "attack": run_attack, "sweep": run_sweep,
    "ranking": run_ranking,
}  # fmt: skip
