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
import sys
from pathlib import Path
from typing import Any

from robust_hashing.attacks.cli_help import (
    FALLBACK_TOP_K,
    QUICK_QUERIES,
    default_top_k,
    format_attack_list,
    max_queries,
)
from robust_hashing.attacks.headline import format_headline, format_report, format_table
from robust_hashing.console import set_verbose
from robust_hashing.errors import first_line, int_at_least, key_value
from robust_hashing.io import write_json_atomic
from robust_hashing.registry import accepted_hp

PROG = "robust-hashing attack"
_positive_int = int_at_least(1, "a positive integer")  # argparse type of the counts


_hp_key_value = key_value("steps=20 or eps=0.05")


def _hp_pair(text: str) -> tuple[str, Any]:
    """Parse ``--hp KEY=VALUE`` (argparse type; values typed by ``typed_value``)."""
    key, value = _hp_key_value(text)
    if key == "targeted":
        raise argparse.ArgumentTypeError("use --targeted instead of --hp targeted=...")
    return key, value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append ``(default: ...)`` where an option has a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if (
            default is None
            or default is False
            or default == []
            or "(default" in (action.help or "")
        ):
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.splitlines()[0],
        formatter_class=_HelpFormatter,
        epilog="--checkpoint and --attack are required unless --list is given.",
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="task checkpoint (clean or defended); required unless --list",
    )
    p.add_argument(
        "--attack",
        help="registered attack name (see --list), or 'all' for the whole table; "
        "required unless --list",
    )
    p.add_argument(
        "--targeted",
        action="store_true",
        help="run the targeted variant (with --attack all: only the targeted attacks)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="registered data module: embedded | flickr25k | nuswide | coco (default: the one "
        "the checkpoint was trained on, with its stored arguments; embedded if it records none)",
    )
    p.add_argument(
        "--root", default=None, metavar="DIR", help="dataset root (default: the stored one)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="the quick profile: each attack's quick overrides (fewer iterations) and the "
        f"first {QUICK_QUERIES} queries unless --max-queries is given",
    )
    p.add_argument(
        "--hp",
        action="append",
        default=[],
        type=_hp_pair,
        metavar="KEY=VALUE",
        help="attack hyper-parameter, repeatable (numbers, true/false, null and [..]/{..} typed)",
    )
    p.add_argument(
        "--top-k",
        type=_positive_int,
        default=None,
        help="mAP depth k (default: the k the checkpoint was validated with: 1000 for the "
        f"embedded-data configs, the protocol's 5000 for the real-dataset ones; {FALLBACK_TOP_K} "
        "if it records none)",
    )
    p.add_argument(
        "--asr-n", type=_positive_int, default=100, help="N of ASR@N (success if in the top N)"
    )
    p.add_argument(
        "--max-queries",
        type=_positive_int,
        default=None,
        help="attack only the first N queries (default: all)",
    )
    p.add_argument(
        "--targets",
        default=None,
        metavar="PATH",
        help="target labels (.pt/.npy): read if it exists, else drawn and stored there "
        "(default: drawn and stored next to --out as <stem>.targets.pt)",
    )
    p.add_argument("--cache-dir", default=None, help="cache of THA / ProS-GAN networks")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of Lightning and the attack's random start"
    )
    p.add_argument(
        "--target-seed",
        type=int,
        default=None,
        help="seed of the target-label draw, independent of --seed (default: 0; a stored "
        "--targets file keeps the seed it was drawn with)",
    )
    p.add_argument("--out", default=None, help="write the full report as JSON (says 'wrote PATH')")
    p.add_argument(
        "--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu, cuda, mps"
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a third-party attack first: a .py file or a dotted module (repeatable)",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the registered attacks (modes, bounded or not, what they are) and exit",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="print the full report after the headline, and every Lightning/wandb message",
    )
    return p


def _check_hyper_parameters(names: list[str], hp: dict[str, Any]) -> str | None:
    """The first problem of ``hp`` for the attacks ``names``, or None."""
    from robust_hashing.attacks import ATTACKS

    for key in hp:
        refused = []
        for name in names:
            accepted = accepted_hp(ATTACKS.get(name))
            if accepted is not None and key not in accepted - {"model", "context"}:
                refused.append((name, accepted))
        if refused:
            if len(names) == 1:
                known = ", ".join(sorted(refused[0][1] - {"model", "context", "targeted"}))
                return f"attack {names[0]!r} has no hyper-parameter {key!r}; known: {known}"
            which = ", ".join(name for name, _ in refused)
            return f"hyper-parameter {key!r} is not accepted by {which}"
    return None


def checkpoint_key(path: Path) -> str:
    """Cache key of a checkpoint: file stem plus a content hash."""
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{path.stem}-{digest.hexdigest()[:12]}"


def _fail(message: object, code: int = 1) -> int:
    """Print the one-line error of the command and return ``code``."""
    text = first_line(message) if isinstance(message, BaseException) else message
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return code


def attack_jobs(attack: str, targeted: bool) -> list[tuple[str, str]]:
    """(attack, mode) pairs to run.

    One pair for a named attack; for ``all``, every attack of
    :func:`~robust_hashing.attacks.grid_attacks` in each of its modes (only the targeted ones
    when ``targeted``).
    """
    from robust_hashing.attacks import ATTACKS, grid_attacks

    if attack != "all":
        return [(attack, "targeted" if targeted else "untargeted")]
    pairs = [(n, m) for n in grid_attacks() for m in ATTACKS.get(n).supported_modes]
    return [(n, m) for n, m in pairs if m == "targeted"] if targeted else pairs


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (2: usage error, 1: unreadable input)."""
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    set_verbose(args.verbose)
    from robust_hashing.attacks import ATTACKS, list_attacks
    from robust_hashing.datamodules import DATAMODULES
    from robust_hashing.plugins import PluginError, import_plugin

    try:
        ATTACKS.load_entry_points()
        for spec in args.plugin:
            import_plugin(spec)
    except PluginError as err:
        return _fail(err, 2)
    if args.list:
        print(format_attack_list(list_attacks()))
        return 0
    if not args.checkpoint or not args.attack:
        parser.error("--checkpoint and --attack are required (unless --list)")
    # cheap checks first: nothing below loads the model or encodes a data set
    if args.attack != "all" and args.attack not in ATTACKS:
        known = ", ".join(list_attacks()) or "none"
        parser.error(f"argument --attack: unknown attack {args.attack!r}; known: {known}, all")
    jobs = attack_jobs(args.attack, args.targeted)
    for name, mode in jobs:
        supported = ATTACKS.get(name).supported_modes
        if mode not in supported:
            parser.error(
                f"attack {name!r} does not support {mode} mode; supported: {', '.join(supported)}"
            )
    user_hp = dict(args.hp)
    problem = _check_hyper_parameters(sorted({n for n, _ in jobs}), user_hp)
    if problem:
        parser.error(f"argument --hp: {problem}")
    if args.data is not None and args.data not in DATAMODULES:
        known = ", ".join(DATAMODULES.list())
        parser.error(f"argument --data: unknown data module {args.data!r}; known: {known}")
    from robust_hashing.attacks.cli_inputs import hp_value_problem, output_problem

    problem = hp_value_problem(sorted({n for n, _ in jobs}), user_hp) or output_problem(args)
    if problem:
        return _fail(problem, 2)
    args.max_queries = max_queries(args.max_queries, args.quick)
    return _run(args, jobs, user_hp)


def _run(args: argparse.Namespace, jobs: list[tuple[str, str]], user_hp: dict[str, Any]) -> int:
    """Load, encode and attack; bad files end in a one-line error (exit 1)."""
    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from tqdm import tqdm

    from robust_hashing import datamodules
    from robust_hashing.attacks import get_attack
    from robust_hashing.attacks.cli_data import DataChoiceError, resolve_data
    from robust_hashing.attacks.cli_targets import attack_targets, check_targets_file
    from robust_hashing.attacks.context import build_context
    from robust_hashing.attacks.evaluate import evaluate_attack, resolved_hp
    from robust_hashing.benchmark.faults import no_flip_warning
    from robust_hashing.datasets.lists import DatasetError
    from robust_hashing.tasks.checkpoint import hash_net_from, read_checkpoint
    from robust_hashing.tasks.guards import clean_map_warning
    from robust_hashing.tasks.progress import EncodeProgressBar

    L.seed_everything(args.seed, workers=True)
    ckpt = Path(args.checkpoint)
    try:
        stored = read_checkpoint(ckpt)
        args.top_k = default_top_k(stored) if args.top_k is None else args.top_k
        model = hash_net_from(stored, ckpt)
        data, data_kwargs = resolve_data(args.data, args.root, stored)
    except DataChoiceError as err:
        return _fail(err, 2)
    except (FileNotFoundError, ValueError) as err:  # CheckpointError: name the file
        return _fail(err)
    try:
        if args.targets:  # a corrupt file fails before the banks are encoded
            check_targets_file(args.targets, args.target_seed)
    except (FileNotFoundError, ValueError) as err:  # CheckpointError, bad targets: name the file
        return _fail(err)
    try:
        trainer = L.Trainer(
            accelerator=args.accelerator,
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            callbacks=[EncodeProgressBar()],  # one bar per encode / attack, none under 1 s
        )
    except (MisconfigurationException, ValueError, RuntimeError) as err:
        return _fail(f"argument --accelerator {args.accelerator!r}: {first_line(err)}", 2)
    try:
        dm = datamodules.get_datamodule(data, **data_kwargs)
        context = build_context(
            model,
            dm,
            trainer=trainer,
            cache_dir=args.cache_dir,
            model_key=checkpoint_key(ckpt),
            dataset=data,
        )
        targets_all: Any = None
        target_info: dict[str, Any] = {}  # target seed and file, in every targeted report
        loader = dm.query_dataloader(args.max_queries)
        reports = []
        for name, mode in tqdm(jobs, desc="attacks", disable=len(jobs) == 1):
            hp = {"targeted": mode == "targeted", "seed": args.seed, **user_hp}
            try:
                attack = get_attack(name, model, context, quick=args.quick, **hp)
            except (TypeError, ValueError) as err:  # a hyper-parameter value it refuses
                return _fail(f"attack {name!r}: {err}", 2)
            if attack.targeted and targets_all is None:  # one draw for every attack (§5.1)
                try:
                    targets_all, target_info = attack_targets(
                        args.targets,
                        args.out,
                        dm.labels("query"),
                        context.db_labels,
                        args.target_seed,
                    )
                except ValueError as err:  # stored targets of the wrong shape
                    return _fail(err)
            targets = targets_all if attack.targeted else None
            report = evaluate_attack(
                attack, loader, trainer, context=context, targets=targets, top_k=args.top_k,
                asr_n=args.asr_n, attack_hp=resolved_hp(type(attack), hp, quick=args.quick),
            )  # fmt: skip
            report.update(
                checkpoint=str(ckpt),
                data=data,
                data_kwargs=data_kwargs,
                quick=args.quick,
                seed=args.seed,
                hp={k: v for k, v in hp.items() if k != "targeted"},
                **(target_info if attack.targeted else {}),
            )
            warning = no_flip_warning(name, report)
            if warning:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
            reports.append(report)
    except (FileNotFoundError, DatasetError) as err:  # list files, images, data folders
        return _fail(err)
    if trainer.is_global_zero:
        q_labels = dm.labels("query")[: args.max_queries]  # as many as were attacked
        for warning in {clean_map_warning(r, q_labels, context.db_labels) for r in reports}:
            if warning is not None:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
        if len(reports) == 1:
            print(format_headline(reports[0]))
            if args.verbose:
                print(f"\n{format_report(reports[0])}")
        else:
            print(format_table(reports))
        if args.out:
            write_json_atomic(Path(args.out), reports[0] if len(reports) == 1 else reports)
            print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
