"""``robust-hashing attack``: attack one checkpoint on one dataset and report the figures.

Example:
    robust-hashing attack --checkpoint clean.ckpt --attack dhta --targeted --out dhta.json
    robust-hashing attack --checkpoint clean.ckpt --attack all --quick --out table.json

``--attack all`` runs every registered attack in every mode it supports (the model's banks
are encoded once) and prints one table row per attack, with its theory bound and run time.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from robust_hashing.io import write_json_atomic


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robust-hashing attack", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", help="task checkpoint (clean or defended)")
    p.add_argument("--attack", help="registered attack name, or 'all' for the whole table")
    p.add_argument("--targeted", action="store_true", help="run the targeted variant")
    p.add_argument("--data", default="embedded", help="embedded | flickr25k | nuswide | coco")
    p.add_argument("--root", default=None, help="dataset root (list files)")
    p.add_argument("--quick", action="store_true", help="use the attack's quick profile")
    p.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="attack hyper-parameter (YAML value), repeatable",
    )
    p.add_argument("--top-k", type=int, default=5000, help="mAP depth (protocol: 5000)")
    p.add_argument("--asr-n", type=int, default=100, help="N of ASR@N")
    p.add_argument("--max-queries", type=int, default=None, help="attack only the first N")
    p.add_argument("--targets", default=None, help="file storing the dataset's target labels")
    p.add_argument("--cache-dir", default=None, help="cache of THA / ProS-GAN networks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the report as JSON")
    p.add_argument("--accelerator", default="auto")
    p.add_argument("--list", action="store_true", help="list the registered attacks and exit")
    return p


def _hyper_parameters(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--hp expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def checkpoint_key(path: Path) -> str:
    """Cache key of a checkpoint: file stem plus a content hash."""
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{path.stem}-{digest.hexdigest()[:12]}"


def format_report(report: dict[str, Any]) -> str:
    """Two-column text table of the report's entries."""
    rows = [(k, f"{v:.4f}" if isinstance(v, float) else str(v)) for k, v in sorted(report.items())]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    import lightning as L
    from tqdm import tqdm

    from robust_hashing import datamodules, tasks
    from robust_hashing.attacks import ATTACKS, get_attack, list_attacks, load_attack_plugins
    from robust_hashing.attacks.context import build_context
    from robust_hashing.attacks.evaluation import AttackEvaluation
    from robust_hashing.attacks.targets import draw_target_labels, load_or_draw_targets

    load_attack_plugins()
    if args.list:
        print("\n".join(list_attacks()))
        return 0
    if not args.checkpoint or not args.attack:
        parser.error("--checkpoint and --attack are required")
    L.seed_everything(args.seed, workers=True)
    ckpt = Path(args.checkpoint)
    model = tasks.load_hash_net(ckpt)
    dm = datamodules.get_datamodule(args.data, **({"root": args.root} if args.root else {}))
    trainer = L.Trainer(
        accelerator=args.accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    context = build_context(
        model,
        dm,
        trainer=trainer,
        cache_dir=args.cache_dir,
        model_key=checkpoint_key(ckpt),
        dataset=args.data,
    )
    targets_all: Any = None
    jobs = (
        [(n, m) for n in list_attacks() for m in ATTACKS.get(n).supported_modes]
        if args.attack == "all"
        else [(args.attack, "targeted" if args.targeted else "untargeted")]
    )
    loader = dm.query_dataloader(args.max_queries)
    reports = []
    for name, mode in tqdm(jobs, desc="attacks", disable=len(jobs) == 1):
        hp = {"targeted": mode == "targeted", "seed": args.seed, **_hyper_parameters(args.hp)}
        attack = get_attack(name, model, context, quick=args.quick, **hp)
        targets = None
        if attack.targeted:
            if targets_all is None:
                query_labels, db_labels = dm.labels("query"), context.db_labels
                targets_all = (
                    load_or_draw_targets(args.targets, query_labels, db_labels, seed=args.seed)
                    if args.targets
                    else draw_target_labels(query_labels, db_labels, seed=args.seed)
                )
            targets = targets_all
        evaluation = AttackEvaluation(
            attack, context=context, targets=targets, top_k=args.top_k, asr_n=args.asr_n
        )
        trainer.test(evaluation, dataloaders=loader, verbose=False)
        report = dict(evaluation.report)
        report.update(
            checkpoint=str(ckpt),
            data=args.data,
            quick=args.quick,
            seed=args.seed,
            hp={k: v for k, v in hp.items() if k != "targeted"},
        )
        reports.append(report)
    if trainer.is_global_zero:
        if len(reports) == 1:
            print(format_report({k: v for k, v in reports[0].items() if not isinstance(v, dict)}))
        else:
            print(format_table(reports))
        if args.out:
            write_json_atomic(Path(args.out), reports[0] if len(reports) == 1 else reports)
    return 0


def format_table(reports: list[dict[str, Any]]) -> str:
    """Markdown table: one row per attack (mAP for untargeted, t-mAP for targeted)."""
    head = "| attack | mode | clean | attacked | theory | ASR@N | RMSE | L∞ | seconds |"
    rows = [head, "|" + "---|" * 9]
    for r in reports:
        key = "tmap" if r["mode"] == "targeted" else "map"
        cells = [r[f"clean_{key}"], r[f"adv_{key}"], r["theory"], r["asr"], r["rmse"], r["linf"]]
        numbers = " | ".join(_number(v) for v in cells)
        rows.append(f"| {r['attack']} | {r['mode']} | {numbers} | {_number(r['seconds'], 1)} |")
    return "\n".join(rows)


def _number(value: Any, digits: int = 4) -> str:
    """A float with ``digits`` decimals, or '–' for a missing / NaN value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.{digits}f}"


if __name__ == "__main__":
    raise SystemExit(main())
